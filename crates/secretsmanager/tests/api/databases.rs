//! The built-in database rotation functions against the PostgreSQL at 127.0.0.1:5432 (user
//! `postgres`, database `test`, trust authentication) and the MariaDB at 127.0.0.1:3306 (`root`
//! without a password); each test is skipped when its server does not answer.

use std::sync::Arc;

use mysql_async::prelude::Queryable;
use palisade_core::Sensitive;
use palisade_model_secretsmanager::types::*;
use palisade_secretsmanager::{DatabaseEngine, DatabaseRotation, RotationStrategy};

use crate::common::*;

const LAMBDA: &str = "arn:aws:lambda:us-east-1:000000000000:function:postgres";

async fn admin() -> Option<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=5",
        tokio_postgres::NoTls,
    )
    .await
    .ok()?;
    tokio::spawn(connection);
    Some(client)
}

fn database_secret(username: &str, password: &str, master: Option<&str>) -> String {
    let mut secret = serde_json::json!({
        "engine": "postgres",
        "host": "127.0.0.1",
        "port": 5432,
        "username": username,
        "password": password,
        "dbname": "test",
    });
    if let Some(master) = master {
        secret["masterarn"] = master.into();
    }
    secret.to_string()
}

fn mariadb_secret(username: &str, password: &str, master: Option<&str>) -> String {
    let mut secret = serde_json::json!({
        "engine": "mariadb",
        "host": "127.0.0.1",
        "port": 3306,
        "username": username,
        "password": password,
    });
    if let Some(master) = master {
        secret["masterarn"] = master.into();
    }
    secret.to_string()
}

async fn create(h: &Harness, name: &str, value: String) -> String {
    let created: CreateSecretResponse = h
        .call(
            "CreateSecret",
            CreateSecretRequest {
                name: name.to_owned(),
                secret_string: Some(Sensitive::new(value)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    created.arn.unwrap()
}

async fn rotate_now(h: &Harness, name: &str) {
    let _: RotateSecretResponse = h
        .call(
            "RotateSecret",
            RotateSecretRequest {
                secret_id: name.to_owned(),
                rotation_lambda_arn: Some(LAMBDA.into()),
                rotation_rules: Some(RotationRulesType {
                    automatically_after_days: Some(30),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

async fn current(h: &Harness, name: &str) -> serde_json::Value {
    serde_json::from_str(&h.current(name).await).unwrap()
}

fn role_name(prefix: &str) -> String {
    let suffix: String = palisade_core::clock::millis_since_epoch(std::time::SystemTime::now())
        .to_string()
        .chars()
        .rev()
        .take(8)
        .collect();
    format!("{prefix}_{suffix}")
}

#[tokio::test]
async fn single_user_rotation_sets_a_new_password() {
    let Some(db) = admin().await else {
        eprintln!("no PostgreSQL at 127.0.0.1:5432: skipped");
        return;
    };
    let role = role_name("sm_single");
    db.batch_execute(&format!(
        "CREATE ROLE {role} WITH LOGIN PASSWORD 'initial-pw'"
    ))
    .await
    .unwrap();
    let h = Harness::new().await;
    create(&h, "db/single", database_secret(&role, "initial-pw", None)).await;
    let configured = h.state().configure_rotation(&format!(
        r#"{{"{LAMBDA}": {{"builtin": "postgres-single-user"}}}}"#
    ));
    assert_eq!(configured, Ok(1));
    rotate_now(&h, "db/single").await;

    let rotated = current(&h, "db/single").await;
    assert_eq!(rotated["username"], role.as_str());
    let password = rotated["password"].as_str().unwrap();
    assert_ne!(password, "initial-pw");
    assert_eq!(password.len(), 32);
    assert!(!password.contains(['/', '@', '"', '\'', '\\']));
    let described = h.describe("db/single").await.unwrap();
    assert!(described.last_rotated_date.is_some());
    let stages = described.version_ids_to_stages.unwrap();
    assert!(!stages.values().flatten().any(|stage| stage == "AWSPENDING"));
    db.batch_execute(&format!("DROP ROLE {role}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn alternating_users_take_turns() {
    let Some(db) = admin().await else {
        eprintln!("no PostgreSQL at 127.0.0.1:5432: skipped");
        return;
    };
    let role = role_name("sm_alt");
    let clone = format!("{role}_clone");
    db.batch_execute(&format!(
        "CREATE ROLE {role} WITH LOGIN PASSWORD 'initial-pw'"
    ))
    .await
    .unwrap();
    let h = Harness::new().await;
    let master = create(&h, "db/master", database_secret("postgres", "", None)).await;
    create(
        &h,
        "db/app",
        database_secret(&role, "initial-pw", Some(&master)),
    )
    .await;
    h.state().rotation_functions().register(
        LAMBDA,
        Arc::new(DatabaseRotation::new(
            h.state(),
            DatabaseEngine::Postgres,
            RotationStrategy::AlternatingUsers,
        )),
    );

    rotate_now(&h, "db/app").await;
    let first = current(&h, "db/app").await;
    assert_eq!(first["username"], clone.as_str());
    let member = db
        .query_opt(
            "SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid \
             JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = $1 AND u.rolname = $2",
            &[&role, &clone],
        )
        .await
        .unwrap();
    assert!(
        member.is_some(),
        "the clone is a member of the original role"
    );

    h.clock.advance(DAY * 30);
    assert_eq!(h.state().rotate_due_secrets().await.unwrap(), 1);
    let second = current(&h, "db/app").await;
    assert_eq!(second["username"], role.as_str());
    assert_ne!(second["password"], first["password"]);

    db.batch_execute(&format!("DROP ROLE {clone}; DROP ROLE {role}"))
        .await
        .unwrap();
}

async fn mariadb(user: &str, password: &str) -> Option<mysql_async::Conn> {
    let options = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(3306)
        .user(Some(user))
        .pass(Some(password));
    mysql_async::Conn::new(options).await.ok()
}

fn register_mariadb(h: &Harness, strategy: RotationStrategy) {
    h.state().rotation_functions().register(
        LAMBDA,
        Arc::new(DatabaseRotation::new(
            h.state(),
            DatabaseEngine::MariaDb,
            strategy,
        )),
    );
}

#[tokio::test]
async fn mariadb_single_user_rotation_changes_the_password() {
    let Some(mut root) = mariadb("root", "").await else {
        eprintln!("no MariaDB at 127.0.0.1:3306: skipped");
        return;
    };
    let user = role_name("sm_my1");
    root.query_drop(format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 'initial-pw'"
    ))
    .await
    .unwrap();
    let h = Harness::new().await;
    create(&h, "my/single", mariadb_secret(&user, "initial-pw", None)).await;
    register_mariadb(&h, RotationStrategy::SingleUser);
    rotate_now(&h, "my/single").await;

    let rotated = current(&h, "my/single").await;
    let password = rotated["password"].as_str().unwrap();
    assert_ne!(password, "initial-pw");
    assert!(
        mariadb(&user, password).await.is_some(),
        "the new password logs in"
    );
    assert!(
        mariadb(&user, "initial-pw").await.is_none(),
        "the old one no longer does"
    );
    root.query_drop(format!("DROP USER '{user}'@'%'"))
        .await
        .unwrap();
}

#[tokio::test]
async fn mariadb_alternating_users_copy_privileges() {
    let Some(mut root) = mariadb("root", "").await else {
        eprintln!("no MariaDB at 127.0.0.1:3306: skipped");
        return;
    };
    let user = role_name("sm_my2");
    let clone = format!("{user}_clone");
    root.query_drop(format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 'initial-pw'; \
         GRANT SELECT ON `sm_rotation_test`.* TO '{user}'@'%'"
    ))
    .await
    .unwrap();
    let h = Harness::new().await;
    let master = create(&h, "my/master", mariadb_secret("root", "", None)).await;
    create(
        &h,
        "my/app",
        mariadb_secret(&user, "initial-pw", Some(&master)),
    )
    .await;
    register_mariadb(&h, RotationStrategy::AlternatingUsers);

    rotate_now(&h, "my/app").await;
    let first = current(&h, "my/app").await;
    assert_eq!(first["username"], clone.as_str());
    let password = first["password"].as_str().unwrap();
    assert!(mariadb(&clone, password).await.is_some());
    let grants: Vec<String> = root
        .query(format!("SHOW GRANTS FOR '{clone}'@'%'"))
        .await
        .unwrap();
    assert!(
        grants
            .iter()
            .any(|grant| grant.contains("sm_rotation_test")),
        "{grants:?}"
    );

    h.clock.advance(DAY * 30);
    assert_eq!(h.state().rotate_due_secrets().await.unwrap(), 1);
    let second = current(&h, "my/app").await;
    assert_eq!(second["username"], user.as_str());
    let password = second["password"].as_str().unwrap();
    assert!(mariadb(&user, password).await.is_some());
    assert!(mariadb(&user, "initial-pw").await.is_none());

    root.query_drop(format!("DROP USER '{user}'@'%'; DROP USER '{clone}'@'%'"))
        .await
        .unwrap();
}
