//! The one place per service where operations are listed.
//!
//! `operations!` generates, for a service struct, `OPERATIONS` (the names, also as the associated
//! constant `Service::OPERATIONS` that [`crate::dispatch`]'s table reads) and `dispatch`, which
//! validates the input document against the botocore model, decodes it into the handler's typed
//! input, runs the handler and encodes the typed output. A handler is
//! `async fn(&Service, &RequestContext, Input) -> Result<Output, Error>`.
//!
//! coffer's own operations (`coffer.admin.*`) have no botocore model: `operations!(Svc, Err,
//! no_model; ...)` checks only that the input is a JSON object, and the typed input's serde
//! derive does the rest.

macro_rules! operations {
    (@common $svc:ty, $err:ty; $( $name:ident ),*) => {
        /// Operation names this service implements.
        pub const OPERATIONS: &[&str] = &[$(stringify!($name)),*];

        impl $svc {
            /// Operation names this service implements.
            pub const OPERATIONS: &'static [&'static str] = OPERATIONS;

            /// True if `op` is one of [`OPERATIONS`].
            pub fn has_operation(op: &str) -> bool {
                OPERATIONS.contains(&op)
            }

            /// `(variant, AWS code, HTTP status)` of every error this service can produce.
            pub const ERRORS: &'static [(&'static str, &'static str, u16)] = <$err>::TABLE;

            /// The error of variant `variant` (a row of [`Self::ERRORS`]) with `message`: the
            /// tests render every row.
            pub fn error(variant: &str, message: &str) -> Option<$crate::dispatch::Failure> {
                <$err>::from_variant(variant, message.to_owned())
                    .map(|e| Box::new(e) as $crate::dispatch::Failure)
            }
        }
    };
    (@run $self:ident, $ctx:ident, $op:ident, $input:ident, $err:ty; $( $name:ident => $handler:path ),*) => {
        match $op {
            $( stringify!($name) => {
                let input = $crate::wire::decode::<_, $err>($input)?;
                let output = Box::pin($handler($self, $ctx, input)).await?;
                $crate::wire::encode::<_, $err>(&output)
            } )*
            other => Err(<$err as $crate::error::CommonErrors>::internal(
                format!("dispatch of unlisted operation {other}"),
            )),
        }
    };
    // Fuzzing only: the decoding half of `dispatch` (validation, typed input), no handler run.
    // The handler call in the dead branch is there for its type: it names the typed input.
    (@decode $svc:ty, $err:ty; $( $name:ident => $handler:path ),*) => {
        #[cfg(feature = "fuzzing")]
        impl $svc {
            pub fn decode_input(op: &str, input: serde_json::Value) -> Result<(), $err> {
                Self::check_input(op, &input)?;
                match op {
                    $( stringify!($name) => {
                        #[allow(unused_variables)]
                        let input = $crate::wire::decode::<_, $err>(input)?;
                        #[allow(unreachable_code, clippy::diverging_sub_expression)]
                        if false {
                            drop($handler(unreachable!(), unreachable!(), input));
                        }
                        Ok(())
                    } )*
                    _ => Ok(()),
                }
            }
        }
    };
    ($svc:ty, $err:ty, no_model; $( $name:ident => $handler:path ),* $(,)?) => {
        operations!(@common $svc, $err; $( $name ),*);
        operations!(@decode $svc, $err; $( $name => $handler ),*);

        #[cfg(feature = "fuzzing")]
        impl $svc {
            fn check_input(_op: &str, input: &serde_json::Value) -> Result<(), $err> {
                if input.is_object() {
                    Ok(())
                } else {
                    Err(<$err as $crate::error::CommonErrors>::serialization(
                        "The request body must be a JSON object.".to_owned(),
                    ))
                }
            }
        }

        impl $svc {
            /// No botocore model.
            pub const MODEL: Option<$crate::model::Service> = None;

            /// Run operation `op` on the JSON input document.
            pub async fn dispatch(
                &self,
                ctx: &$crate::RequestContext,
                op: &str,
                input: serde_json::Value,
            ) -> Result<serde_json::Value, $err> {
                if !input.is_object() {
                    return Err(<$err as $crate::error::CommonErrors>::serialization(
                        "The request body must be a JSON object.".to_owned(),
                    ));
                }
                operations!(@run self, ctx, op, input, $err; $( $name => $handler ),*)
            }

            /// These operations are awsJson only: no query-protocol input.
            pub fn query_input(
                _op: &str,
                _params: &[(String, String)],
            ) -> Result<serde_json::Value, $err> {
                Err(<$err as $crate::error::CommonErrors>::serialization(
                    "This operation takes an awsJson request.".to_owned(),
                ))
            }
        }
    };
    ($svc:ty, $err:ty, $model:expr; $( $name:ident => $handler:path ),* $(,)?) => {
        operations!(@common $svc, $err; $( $name ),*);
        operations!(@decode $svc, $err; $( $name => $handler ),*);

        #[cfg(feature = "fuzzing")]
        impl $svc {
            fn check_input(op: &str, input: &serde_json::Value) -> Result<(), $err> {
                $crate::model::model($model)
                    .validate_input(op, input)
                    .map_err($crate::error::from_validation::<$err>)
            }
        }

        impl $svc {
            /// The botocore model inputs are validated against.
            pub const MODEL: Option<$crate::model::Service> = Some($model);

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
                operations!(@run self, ctx, op, input, $err; $( $name => $handler ),*)
            }

            /// Query protocol: the form parameters of operation `op` as the JSON document
            /// [`Self::dispatch`] takes (numbers and booleans parsed, bad ones the service's
            /// serialization error).
            pub fn query_input(
                op: &str,
                params: &[(String, String)],
            ) -> Result<serde_json::Value, $err> {
                $crate::model::model($model)
                    .query_to_json(op, params)
                    .map_err($crate::error::from_validation::<$err>)
            }
        }
    };
}
