use super::*;

fn parts(headers: &[(&str, &str)]) -> Parts {
    let mut b = Request::builder().method("POST").uri("/console/login");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).unwrap().into_parts().0
}

#[test]
fn posts_must_come_from_this_origin() {
    assert!(same_origin(&parts(&[("host", "127.0.0.1:8080")])));
    assert!(same_origin(&parts(&[
        ("host", "127.0.0.1:8080"),
        ("origin", "http://127.0.0.1:8080"),
        ("sec-fetch-site", "same-origin"),
    ])));
    assert!(!same_origin(&parts(&[
        ("host", "127.0.0.1:8080"),
        ("origin", "http://evil.example"),
    ])));
    assert!(!same_origin(&parts(&[
        ("host", "127.0.0.1:8080"),
        ("sec-fetch-site", "cross-site"),
    ])));
    // What Chromium sends for a same-origin form under `Referrer-Policy: no-referrer`.
    assert!(same_origin(&parts(&[
        ("host", "127.0.0.1:8080"),
        ("origin", "null"),
        ("sec-fetch-site", "same-origin"),
    ])));
    assert!(!same_origin(&parts(&[
        ("host", "127.0.0.1:8080"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
    ])));
    // Over plain HTTP an https origin is another origin.
    assert!(!same_origin(&parts(&[
        ("host", "127.0.0.1:8080"),
        ("origin", "https://127.0.0.1:8080"),
    ])));
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let r = security_headers(html(StatusCode::OK, String::new())).await;
    let h = r.headers();
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    for d in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "script-src 'none'",
    ] {
        assert!(csp.contains(d), "{csp}");
    }
    // Static assets may be cached; pages never.
    let r = security_headers(css().await).await;
    assert_eq!(r.headers()[header::CACHE_CONTROL], "public, max-age=3600");
}

#[test]
fn forms_read_first_values() {
    let f = Form(vec![
        ("a".into(), " x ".into()),
        ("a".into(), "y".into()),
        ("b".into(), "  ".into()),
    ]);
    assert_eq!(f.get("a"), " x ");
    assert_eq!(f.opt("a"), Some("x"));
    assert_eq!(f.opt("b"), None);
    assert_eq!(f.get("c"), "");
}
