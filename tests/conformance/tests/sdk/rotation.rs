//! Rotation end to end: the seed's `rotate-secret` with AWS's RDS rotation function names against
//! a private PostgreSQL (password authentication) and against MariaDB, single and alternating
//! users; and rotation functions reached over HTTP, written like Lambda rotation handlers.
//! Nothing is mocked: coffer changes real passwords and the tests log in with them.

use crate::common::{ACCESS_KEY, SECRET_KEY, Server, binary, sdk_config};
use aws_sdk_secretsmanager::Client;
use serde_json::{Value, json};
use sqlx::{ConnectOptions, Connection};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PG_SINGLE: &str =
    "arn:aws:lambda:us-east-1:012345678901:function:SecretsManagerRDSPostgreSQLRotationSingleUser";
const PG_MULTI: &str =
    "arn:aws:lambda:us-east-1:012345678901:function:SecretsManagerRDSPostgreSQLRotationMultiUser";
const MYSQL_SINGLE: &str =
    "arn:aws:lambda:us-east-1:012345678901:function:SecretsManagerRDSMySQLRotationSingleUser";
const MYSQL_MULTI: &str =
    "arn:aws:lambda:us-east-1:012345678901:function:SecretsManagerRDSMySQLRotationMultiUser";

async fn client(server: &Server) -> Client {
    Client::new(&sdk_config(&server.endpoint(), ACCESS_KEY, SECRET_KEY).await)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn am_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A private PostgreSQL cluster with SCRAM password authentication, in a temporary directory;
/// stopped on drop. As root it runs as the `postgres` user (PostgreSQL refuses root).
struct PrivatePg {
    child: Option<Child>,
    port: u16,
    _dir: tempfile::TempDir,
}

const PG_SUPERUSER_PASSWORD: &str = "pg-super-Secret-1";

fn pg_bin_dir() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL binaries under /usr/lib/postgresql (apt-get install postgresql)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop().expect("initdb in /usr/lib/postgresql/*/bin")
}

fn as_postgres(cmd: &Path) -> Command {
    if am_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(cmd);
        c
    } else {
        Command::new(cmd)
    }
}

impl PrivatePg {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bin = pg_bin_dir();
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PG_SUPERUSER_PASSWORD).unwrap();
        if am_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(ok.success());
        }
        let out = as_postgres(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=scram-sha-256", "-E", "UTF8"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("pg.log")).unwrap();
        let child = as_postgres(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-k")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let pg = Self {
            child: Some(child),
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "PostgreSQL did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        pg
    }

    async fn connect(&self, user: &str, password: &str) -> Result<sqlx::PgConnection, sqlx::Error> {
        sqlx::postgres::PgConnectOptions::new_without_pgpass()
            .host("127.0.0.1")
            .port(self.port)
            .username(user)
            .password(password)
            .database("postgres")
            .connect()
            .await
    }

    async fn superuser(&self) -> sqlx::PgConnection {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.connect("postgres", PG_SUPERUSER_PASSWORD).await {
                Ok(c) => return c,
                Err(e) if Instant::now() > deadline => panic!("superuser login: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGTERM: a smart shutdown; then make sure.
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if c.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn current_value(sm: &Client, id: &str) -> (String, Value) {
    let v = sm.get_secret_value().secret_id(id).send().await.unwrap();
    (
        v.version_id().unwrap().to_owned(),
        serde_json::from_str(v.secret_string().unwrap()).unwrap(),
    )
}

/// Wait until AWSCURRENT is `version` (rotation is asynchronous, as on AWS).
async fn wait_current(sm: &Client, id: &str, version: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (v, doc) = current_value(sm, id).await;
        if v == version {
            return doc;
        }
        assert!(
            Instant::now() < deadline,
            "rotation of {id} to {version} did not complete"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn rotate(sm: &Client, id: &str, lambda: Option<&str>, days: Option<i64>) -> String {
    let mut r = sm.rotate_secret().secret_id(id);
    if let Some(l) = lambda {
        r = r.rotation_lambda_arn(l);
    }
    if let Some(d) = days {
        r = r.rotation_rules(
            aws_sdk_secretsmanager::types::RotationRulesType::builder()
                .automatically_after_days(d)
                .build(),
        );
    }
    let out = r.send().await.unwrap();
    out.version_id().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_single_and_multi_user_rotation() {
    let pg = PrivatePg::start();
    let mut su = pg.superuser().await;
    sqlx::raw_sql(
        "CREATE ROLE app LOGIN PASSWORD 'app-Old-Pass-1';
         CREATE TABLE payments (id int); GRANT SELECT ON payments TO app;
         CREATE ROLE multi LOGIN PASSWORD 'multi-Old-Pass-1'; GRANT SELECT ON payments TO multi;",
    )
    .execute(&mut su)
    .await
    .unwrap();
    // Password authentication is on: a wrong password is refused.
    assert!(pg.connect("app", "wrong").await.is_err());

    let server = Server::start();
    let sm = client(&server).await;
    let id = "prod/payments-api/database";
    let secret = json!({"engine": "postgres", "host": "127.0.0.1", "port": pg.port,
        "username": "app", "password": "app-Old-Pass-1", "dbname": "postgres"});
    sm.create_secret()
        .name(id)
        .secret_string(secret.to_string())
        .send()
        .await
        .unwrap();
    let (v1, _) = current_value(&sm, id).await;

    // The seed: rotate-secret with the single-user template and a 30-day schedule.
    let v2 = rotate(&sm, id, Some(PG_SINGLE), Some(30)).await;
    let doc = wait_current(&sm, id, &v2).await;
    assert_eq!(doc["username"], "app");
    assert_eq!(doc["port"], pg.port);
    let new_password = doc["password"].as_str().unwrap().to_owned();
    assert_ne!(new_password, "app-Old-Pass-1");
    let mut c = pg
        .connect("app", &new_password)
        .await
        .expect("new password logs in");
    sqlx::query("SELECT count(*) FROM payments")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    assert!(
        pg.connect("app", "app-Old-Pass-1").await.is_err(),
        "old password refused"
    );
    // The verifier was stored, not the password.
    let stored: String =
        sqlx::query_scalar("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'")
            .fetch_one(&mut su)
            .await
            .unwrap();
    assert!(stored.starts_with("SCRAM-SHA-256$4096:"));
    let prev = sm
        .get_secret_value()
        .secret_id(id)
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .unwrap();
    assert_eq!(prev.version_id(), Some(v1.as_str()));
    let prev: Value = serde_json::from_str(prev.secret_string().unwrap()).unwrap();
    assert_eq!(prev["password"], "app-Old-Pass-1");
    let d = sm.describe_secret().secret_id(id).send().await.unwrap();
    assert_eq!(d.rotation_enabled(), Some(true));
    assert_eq!(d.rotation_lambda_arn(), Some(PG_SINGLE));
    assert_eq!(
        d.rotation_rules()
            .and_then(|r| r.automatically_after_days()),
        Some(30)
    );
    assert!(d.last_rotated_date().is_some());
    assert!(d.next_rotation_date().is_some());

    // --rotate-immediately: again, with the stored configuration.
    let v3 = rotate(&sm, id, None, None).await;
    let doc3 = wait_current(&sm, id, &v3).await;
    let third = doc3["password"].as_str().unwrap();
    assert_ne!(third, new_password);
    assert!(pg.connect("app", third).await.is_ok());
    assert!(pg.connect("app", &new_password).await.is_err());

    // Alternating users: the master secret creates multi_clone; multi keeps working meanwhile.
    sm.create_secret()
        .name("prod/pg-master")
        .secret_string(
            json!({"engine": "postgres", "host": "127.0.0.1", "port": pg.port,
                   "username": "postgres", "password": PG_SUPERUSER_PASSWORD})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let master_arn = sm
        .describe_secret()
        .secret_id("prod/pg-master")
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let multi = json!({"engine": "postgres", "host": "127.0.0.1", "port": pg.port,
        "username": "multi", "password": "multi-Old-Pass-1", "dbname": "postgres",
        "masterarn": master_arn});
    sm.create_secret()
        .name("prod/multi")
        .secret_string(multi.to_string())
        .send()
        .await
        .unwrap();
    let m2 = rotate(&sm, "prod/multi", Some(PG_MULTI), Some(1)).await;
    let doc = wait_current(&sm, "prod/multi", &m2).await;
    assert_eq!(doc["username"], "multi_clone");
    let clone_pw = doc["password"].as_str().unwrap().to_owned();
    let mut c = pg
        .connect("multi_clone", &clone_pw)
        .await
        .expect("clone logs in");
    // It has the original user's privileges.
    sqlx::query("SELECT count(*) FROM payments")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    assert!(
        pg.connect("multi", "multi-Old-Pass-1").await.is_ok(),
        "the previous user still logs in"
    );
    // And back: the next rotation changes `multi`, while multi_clone keeps working.
    let m3 = rotate(&sm, "prod/multi", None, None).await;
    let doc = wait_current(&sm, "prod/multi", &m3).await;
    assert_eq!(doc["username"], "multi");
    assert!(
        pg.connect("multi", doc["password"].as_str().unwrap())
            .await
            .is_ok()
    );
    assert!(pg.connect("multi", "multi-Old-Pass-1").await.is_err());
    assert!(pg.connect("multi_clone", &clone_pw).await.is_ok());

    // No password, old or new, reached the server's log.
    let log = server.log_text();
    for p in [
        "app-Old-Pass-1",
        &new_password,
        third,
        &clone_pw,
        PG_SUPERUSER_PASSWORD,
    ] {
        assert!(!log.contains(p), "a password reached the log");
    }
}

/// MariaDB at 127.0.0.1:3306 (root without a password, as on the CI machines): a unique user
/// and database per run, dropped afterwards.
struct Maria {
    root: sqlx::MySqlConnection,
    suffix: String,
}

async fn maria_root() -> sqlx::MySqlConnection {
    sqlx::mysql::MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(3306)
        .username("root")
        .connect()
        .await
        .expect("MariaDB at 127.0.0.1:3306 with root and no password (see .ci/run)")
}

async fn maria_login(user: &str, password: &str) -> Result<sqlx::MySqlConnection, sqlx::Error> {
    sqlx::mysql::MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(3306)
        .username(user)
        .password(password)
        .connect()
        .await
}

impl Maria {
    async fn drop_all(&mut self) {
        let s = &self.suffix;
        for u in [
            format!("rot_{s}"),
            format!("rot_{s}_clone"),
            format!("rotm_{s}"),
            format!("rotx_{s}"),
            format!("rotx_{s}_clone"),
        ] {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP USER IF EXISTS '{u}'@'%'"
            )))
            .execute(&mut self.root)
            .await;
        }
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS rotdb_{s}"
        )))
        .execute(&mut self.root)
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_single_and_multi_user_rotation() {
    let suffix: String = uuid_like()[..8].to_owned();
    let mut maria = Maria {
        root: maria_root().await,
        suffix: suffix.clone(),
    };
    let user = format!("rot_{suffix}");
    let multi = format!("rotx_{suffix}");
    let master = format!("rotm_{suffix}");
    let db = format!("rotdb_{suffix}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {db};
         CREATE TABLE {db}.payments (id int);
         CREATE USER '{user}'@'%' IDENTIFIED BY 'maria-Old-1';
         GRANT SELECT ON {db}.* TO '{user}'@'%';
         CREATE USER '{multi}'@'%' IDENTIFIED BY 'multi-Old-1';
         GRANT SELECT ON {db}.* TO '{multi}'@'%';
         CREATE USER '{master}'@'%' IDENTIFIED BY 'master-Pass-1';
         GRANT ALL PRIVILEGES ON *.* TO '{master}'@'%' WITH GRANT OPTION;"
    )))
    .execute(&mut maria.root)
    .await
    .unwrap();
    let result = tokio::spawn(mariadb_rotations(user, multi, master, db)).await;
    maria.drop_all().await;
    result.unwrap();
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}{:08x}", std::process::id(), nanos & 0xffff_ffff)
        .chars()
        .rev()
        .collect()
}

async fn mariadb_rotations(user: String, multi: String, master: String, db: String) {
    assert!(maria_login(&user, "wrong").await.is_err());
    let server = Server::start();
    let sm = client(&server).await;
    let secret = json!({"engine": "mariadb", "host": "127.0.0.1", "port": 3306,
        "username": user, "password": "maria-Old-1", "dbname": db});
    sm.create_secret()
        .name("prod/maria")
        .secret_string(secret.to_string())
        .send()
        .await
        .unwrap();
    let (v1, _) = current_value(&sm, "prod/maria").await;
    let v2 = rotate(&sm, "prod/maria", Some(MYSQL_SINGLE), Some(30)).await;
    let doc = wait_current(&sm, "prod/maria", &v2).await;
    let pw = doc["password"].as_str().unwrap().to_owned();
    let mut c = maria_login(&user, &pw).await.expect("new password logs in");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {db}.payments"
    )))
    .execute(&mut c)
    .await
    .unwrap();
    c.close().await.unwrap();
    assert!(
        maria_login(&user, "maria-Old-1").await.is_err(),
        "old password refused"
    );
    let prev = sm
        .get_secret_value()
        .secret_id("prod/maria")
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .unwrap();
    assert_eq!(prev.version_id(), Some(v1.as_str()));
    // Again, immediately.
    let v3 = rotate(&sm, "prod/maria", None, None).await;
    let doc = wait_current(&sm, "prod/maria", &v3).await;
    let pw3 = doc["password"].as_str().unwrap().to_owned();
    assert!(maria_login(&user, &pw3).await.is_ok());
    assert!(maria_login(&user, &pw).await.is_err());

    // Alternating users with a master secret.
    sm.create_secret()
        .name("prod/maria-master")
        .secret_string(
            json!({"engine": "mariadb", "host": "127.0.0.1", "port": 3306,
                   "username": master, "password": "master-Pass-1"})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let master_arn = sm
        .describe_secret()
        .secret_id("prod/maria-master")
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    sm.create_secret()
        .name("prod/maria-multi")
        .secret_string(
            json!({"engine": "mariadb", "host": "127.0.0.1", "port": 3306, "username": multi,
                   "password": "multi-Old-1", "dbname": db, "masterarn": master_arn})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let m2 = rotate(&sm, "prod/maria-multi", Some(MYSQL_MULTI), Some(1)).await;
    let doc = wait_current(&sm, "prod/maria-multi", &m2).await;
    let clone = format!("{multi}_clone");
    assert_eq!(doc["username"], clone.as_str());
    let clone_pw = doc["password"].as_str().unwrap().to_owned();
    let mut c = maria_login(&clone, &clone_pw).await.expect("clone logs in");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {db}.payments"
    )))
    .execute(&mut c)
    .await
    .expect("the clone has the user's grants");
    c.close().await.unwrap();
    assert!(
        maria_login(&multi, "multi-Old-1").await.is_ok(),
        "the previous user still logs in"
    );
    let m3 = rotate(&sm, "prod/maria-multi", None, None).await;
    let doc = wait_current(&sm, "prod/maria-multi", &m3).await;
    assert_eq!(doc["username"], multi.as_str());
    assert!(
        maria_login(&multi, doc["password"].as_str().unwrap())
            .await
            .is_ok()
    );
    assert!(maria_login(&multi, "multi-Old-1").await.is_err());
    assert!(maria_login(&clone, &clone_pw).await.is_ok());
    let log = server.log_text();
    for p in ["maria-Old-1", &pw, &pw3, &clone_pw, "master-Pass-1"] {
        assert!(!log.contains(p), "a password reached the log");
    }
}

/// A rotation function written like an AWS Lambda rotation handler, served over HTTP: it checks
/// coffer's signature, records the steps it sees, and calls Secrets Manager with its own
/// credentials (the SDK) as the AWS templates do.
struct LambdaLike {
    sm: Client,
    key: Vec<u8>,
    steps: Mutex<Vec<String>>,
    fail_at: Option<&'static str>,
}

impl LambdaLike {
    async fn handle(&self, event: &Value) -> Result<(), String> {
        let arn = event["SecretId"].as_str().ok_or("no SecretId")?;
        let token = event["ClientRequestToken"].as_str().ok_or("no token")?;
        let step = event["Step"].as_str().ok_or("no Step")?;
        self.steps.lock().unwrap().push(step.to_owned());
        if self.fail_at == Some(step) {
            return Err(format!("{step} failed"));
        }
        let sm = &self.sm;
        match step {
            "createSecret" => {
                sm.get_secret_value()
                    .secret_id(arn)
                    .version_stage("AWSCURRENT")
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let exists = sm
                    .get_secret_value()
                    .secret_id(arn)
                    .version_id(token)
                    .version_stage("AWSPENDING")
                    .send()
                    .await
                    .is_ok();
                if !exists {
                    let p = sm
                        .get_random_password()
                        .exclude_characters("/@\"'\\")
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    sm.put_secret_value()
                        .secret_id(arn)
                        .client_request_token(token)
                        .secret_string(p.random_password().unwrap())
                        .version_stages("AWSPENDING")
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            "setSecret" | "testSecret" => Ok(()),
            "finishSecret" => {
                let d = sm
                    .describe_secret()
                    .secret_id(arn)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let current = d
                    .version_ids_to_stages()
                    .unwrap()
                    .iter()
                    .find(|(_, s)| s.iter().any(|l| l == "AWSCURRENT"))
                    .map(|(v, _)| v.clone());
                if current.as_deref() == Some(token) {
                    return Ok(());
                }
                sm.update_secret_version_stage()
                    .secret_id(arn)
                    .version_stage("AWSCURRENT")
                    .move_to_version_id(token)
                    .set_remove_from_version_id(current)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(())
            }
            other => Err(format!("unknown step {other}")),
        }
    }

    fn verify(&self, header: &str, body: &[u8]) -> bool {
        use aws_lc_rs::hmac;
        let mut t = None;
        let mut v1 = None;
        for part in header.split(',') {
            match part.split_once('=') {
                Some(("t", x)) => t = Some(x.to_owned()),
                Some(("v1", x)) => v1 = Some(x.to_owned()),
                _ => {}
            }
        }
        let (Some(t), Some(v1)) = (t, v1) else {
            return false;
        };
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.key);
        let mut msg = format!("{t}.").into_bytes();
        msg.extend_from_slice(body);
        let Ok(sig) = hex::decode(v1) else {
            return false;
        };
        hmac::verify(&key, &msg, &sig).is_ok()
    }
}

/// Serve `f` over HTTP/1.1 on `listener`.
fn serve_on(listener: tokio::net::TcpListener, f: Arc<LambdaLike>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let f = f.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head, body_start) = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break (String::from_utf8_lossy(&buf[..p]).to_string(), p + 4);
                    }
                };
                let header = |name: &str| {
                    head.lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.trim()
                                .eq_ignore_ascii_case(name)
                                .then(|| v.trim().to_owned())
                        })
                        .unwrap_or_default()
                };
                let len: usize = header("content-length").parse().unwrap_or(0);
                while buf.len() < body_start + len {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = &buf[body_start..(body_start + len).min(buf.len())];
                let status = if !f.verify(&header("x-coffer-signature"), body) {
                    "401 Unauthorized"
                } else {
                    let event: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                    match f.handle(&event).await {
                        Ok(()) => "200 OK",
                        Err(_) => "500 Internal Server Error",
                    }
                };
                let resp =
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
}

/// `coffer admin ...` against the server, with the administrator's credentials.
fn admin(server: &Server, args: &[&str]) -> Value {
    let out = Command::new(binary())
        .arg("admin")
        .args(args)
        .arg("--endpoint-url")
        .arg(server.endpoint())
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "coffer admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn http_rotation_functions() {
    let server = Server::start();
    let sm = client(&server).await;
    // A function that works.
    let good = start_function(&server, &sm, "lambda-like", None).await;
    sm.create_secret()
        .name("app/http")
        .secret_string("initial-value-1")
        .send()
        .await
        .unwrap();
    let (v1, _) = (
        sm.get_secret_value()
            .secret_id("app/http")
            .send()
            .await
            .unwrap()
            .version_id()
            .unwrap()
            .to_owned(),
        (),
    );
    let token = rotate(
        &sm,
        "app/http",
        Some("arn:aws:lambda:us-east-1:000000000000:function:lambda-like"),
        Some(7),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = sm
            .get_secret_value()
            .secret_id("app/http")
            .send()
            .await
            .unwrap();
        if v.version_id() == Some(token.as_str()) {
            assert_ne!(v.secret_string(), Some("initial-value-1"));
            break;
        }
        assert!(Instant::now() < deadline, "HTTP rotation did not complete");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        *good.steps.lock().unwrap(),
        ["createSecret", "setSecret", "testSecret", "finishSecret"]
    );
    let prev = sm
        .get_secret_value()
        .secret_id("app/http")
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .unwrap();
    assert_eq!(prev.version_id(), Some(v1.as_str()));

    // One that fails at testSecret: AWSCURRENT stays; the failure is recorded and visible.
    let bad = start_function(&server, &sm, "fails-at-test", Some("testSecret")).await;
    sm.create_secret()
        .name("app/http-bad")
        .secret_string("stays-current-1")
        .send()
        .await
        .unwrap();
    let before = sm
        .get_secret_value()
        .secret_id("app/http-bad")
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_owned();
    let token = rotate(
        &sm,
        "app/http-bad",
        Some("arn:aws:lambda:us-east-1:000000000000:function:fails-at-test"),
        Some(7),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while bad.steps.lock().unwrap().len() < 3 {
        assert!(
            Instant::now() < deadline,
            "the failing function was not called"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = loop {
        let s = admin(
            &server,
            &["describe-rotation", "--secret-id", "app/http-bad"],
        );
        if s["InProgress"]["Attempts"] == 1 {
            break s;
        }
        assert!(Instant::now() < deadline, "failure not recorded: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status["InProgress"]["Step"], "testSecret");
    assert_eq!(status["InProgress"]["ClientRequestToken"], token.as_str());
    assert!(
        status["InProgress"]["LastError"]
            .as_str()
            .unwrap()
            .contains("HTTP 500")
    );
    assert_eq!(
        *bad.steps.lock().unwrap(),
        ["createSecret", "setSecret", "testSecret"]
    );
    let now = sm
        .get_secret_value()
        .secret_id("app/http-bad")
        .send()
        .await
        .unwrap();
    assert_eq!(now.version_id(), Some(before.as_str()));
    assert_eq!(now.secret_string(), Some("stays-current-1"));
    let pending = sm
        .get_secret_value()
        .secret_id("app/http-bad")
        .version_stage("AWSPENDING")
        .send()
        .await
        .unwrap();
    assert_eq!(pending.version_id(), Some(token.as_str()));
    let e = sm
        .rotate_secret()
        .secret_id("app/http-bad")
        .send()
        .await
        .unwrap_err();
    let e = e.into_service_error();
    assert_eq!(
        aws_sdk_secretsmanager::error::ProvideErrorMetadata::message(&e),
        Some("A previous rotation isn't complete. That rotation will be reattempted.")
    );
    // CancelRotateSecret stops it.
    let c = sm
        .cancel_rotate_secret()
        .secret_id("app/http-bad")
        .send()
        .await
        .unwrap();
    assert_eq!(c.version_id(), Some(token.as_str()));
    let d = sm
        .describe_secret()
        .secret_id("app/http-bad")
        .send()
        .await
        .unwrap();
    assert_eq!(d.rotation_enabled(), Some(false));

    // Unknown functions are refused as AWS refuses a function it cannot invoke.
    let e = sm
        .rotate_secret()
        .secret_id("app/http")
        .rotation_lambda_arn("arn:aws:lambda:us-east-1:000000000000:function:nobody")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(
        aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(&e),
        Some("AccessDeniedException")
    );
    // Listing shows both functions, never their keys.
    let list = admin(&server, &["list-rotation-functions"]);
    assert_eq!(list["Functions"].as_array().unwrap().len(), 2);
    assert!(list["Functions"][0].get("SigningKey").is_none());
}

/// Bind a port, register the function at its URL (`coffer admin create-rotation-function`), and
/// serve it with the signing key the registration returned.
async fn start_function(
    server: &Server,
    sm: &Client,
    name: &str,
    fail_at: Option<&'static str>,
) -> Arc<LambdaLike> {
    use base64::Engine;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/rotate", listener.local_addr().unwrap());
    let out = admin(
        server,
        &[
            "create-rotation-function",
            "--function-name",
            name,
            "--url",
            &url,
            "--timeout-seconds",
            "20",
        ],
    );
    assert_eq!(
        out["FunctionArn"],
        format!("arn:aws:lambda:us-east-1:000000000000:function:{name}")
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(out["SigningKey"].as_str().unwrap())
        .unwrap();
    let f = Arc::new(LambdaLike {
        sm: sm.clone(),
        key,
        steps: Mutex::new(Vec::new()),
        fail_at,
    });
    serve_on(listener, f.clone());
    f
}
