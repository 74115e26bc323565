//! `bare-hyper ADDR`: an HTTP/1.1 server on hyper and tokio (as coffer's, with mimalloc, and
//! the same number of worker threads) that answers every request with a fixed JSON body of the
//! size of a GetSecretValue answer, reading the request body first. `scripts/bench-compare`
//! measures it in the same run as coffer: the ceiling coffer's request/s are a fraction of.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// About the size of a GetSecretValue answer for a 1 KiB secret.
static BODY: [u8; 1_300] = [b' '; 1_300];

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the body, as any server that answers a request must.
    let _ = req.into_body().collect().await;
    let mut res = Response::new(Full::new(Bytes::from_static(&BODY)));
    res.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    Ok(res)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4599".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}
