# syntax=docker/dockerfile:1
#
# coffer server image: docker build -t coffer .
#
#   docker run -d --name coffer -p 4566:4566 -v coffer-data:/var/lib/coffer coffer
#   docker cp coffer:/var/lib/coffer/tls/ca.pem ./coffer-ca.pem   # then AWS_CA_BUNDLE=./coffer-ca.pem
#
# See docs/kubernetes.md for the Helm chart, which runs this same image.

ARG RUST_VERSION=1
ARG DEBIAN_RELEASE=bookworm

# ---- build ---------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
# aws-lc-sys (rustls' crypto provider) builds its C code with cc, and with cmake where cc is
# not enough; libsqlite3-sys bundles SQLite. Nothing else is native.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The cache mounts keep the registry and the target directory between builds (BuildKit); the
# binary is copied out of the cached target directory so that the next stage can see it.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin coffer \
 && install -D -m 0755 target/release/coffer /out/coffer

# ---- runtime -------------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim
# ca-certificates: the roots coffer trusts when it calls out (rotation functions, OIDC
# discovery and JWKS, the alert webhook, replication peers). Nothing else: the HEALTHCHECK
# below is `coffer health`, not an HTTP client of the image's.
# The binary links nothing but glibc, libgcc_s and libm, which the base image has.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 coffer \
 && useradd --system --uid 10001 --gid coffer --home-dir /var/lib/coffer --shell /usr/sbin/nologin coffer \
 && install -d -o coffer -g coffer -m 0700 /var/lib/coffer
COPY --from=build /out/coffer /usr/local/bin/coffer

USER 10001:10001
# The data directory: SQLite database, master key (unless COFFER_MASTER_KEY is set), the
# generated administrator credentials and the self-signed TLS CA (tls/ca.pem). coffer makes
# it 0700, so it must be owned by uid 10001 (a named volume is; a bind mount must be chowned).
VOLUME ["/var/lib/coffer"]
EXPOSE 4566
ENV COFFER_LOG_FORMAT=json

# `coffer health` asks GET /health over https and verifies the certificate with the data
# directory's self-signed CA (tls/ca.pem), or AWS_CA_BUNDLE if set: with your own certificate
# (--tls-cert), set AWS_CA_BUNDLE to its CA and give it the name 127.0.0.1. With --insecure-http
# the second form answers.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD coffer health --url https://127.0.0.1:4566/health --data-dir /var/lib/coffer \
     || coffer health --url http://127.0.0.1:4566/health \
     || exit 1

# A non-loopback listen address needs TLS: the default is coffer's own CA, made in
# /var/lib/coffer/tls on first start. Replace the CMD to bring a certificate
# (--tls-cert FILE --tls-key FILE) or, behind a TLS-terminating proxy only, --insecure-http.
# Extra certificate names: COFFER_TLS_NAMES=a.example,b.example (or --tls-name, repeatable).
ENTRYPOINT ["coffer", "server", "--listen", "0.0.0.0:4566", "--data-dir", "/var/lib/coffer"]
CMD ["--tls-self-signed"]
