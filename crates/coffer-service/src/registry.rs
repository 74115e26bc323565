//! The one place per service where operations are listed.
//!
//! `operations!` generates, for a service struct, `OPERATIONS` (the names) and `dispatch`, which
//! validates the input document against the botocore model, decodes it into the handler's typed
//! input, runs the handler and encodes the typed output. A handler is
//! `async fn(&Service, &RequestContext, Input) -> Result<Output, Error>`.

macro_rules! operations {
    ($svc:ty, $err:ty, $model:expr; $( $name:ident => $handler:path ),* $(,)?) => {
        /// Operation names this service implements.
        pub const OPERATIONS: &[&str] = &[$(stringify!($name)),*];

        impl $svc {
            /// True if `op` is one of [`OPERATIONS`].
            pub fn has_operation(op: &str) -> bool {
                OPERATIONS.contains(&op)
            }

            /// Run operation `op` on the JSON input document.
            pub async fn dispatch(
                &self,
                ctx: &$crate::RequestContext,
                op: &str,
                input: serde_json::Value,
            ) -> Result<serde_json::Value, $err> {
                $crate::model::model($model)
                    .validate_input(op, &input)
                    .map_err($crate::error::from_validation::<$err>)?;
                match op {
                    $( stringify!($name) => {
                        let input = $crate::wire::decode::<_, $err>(input)?;
                        let output = Box::pin($handler(self, ctx, input)).await?;
                        $crate::wire::encode::<_, $err>(&output)
                    } )*
                    other => Err(<$err as $crate::error::CommonErrors>::internal(
                        format!("dispatch of unlisted operation {other}"),
                    )),
                }
            }
        }
    };
}
