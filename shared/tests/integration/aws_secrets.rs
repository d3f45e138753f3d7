//! Secrets read from SSM Parameter Store (SecureStrings, and Secrets Manager secrets through
//! `/aws/reference/secretsmanager/`) on the local AWS-compatible server.

use inbox_shared::secrets::{fetch, wanted_parameters};
use inbox_shared::testing::local_aws::local_aws;

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |k| vars.iter().find(|(name, _)| name == k).map(|(_, v)| v.clone())
}

/// Creates a Secrets Manager secret through its JSON API (the project has no Secrets
/// Manager client: it reads secrets through Parameter Store).
async fn create_secret(name: &str, value: &str) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let r = reqwest::Client::new()
        .post(endpoint)
        .header("x-amz-target", "secretsmanager.CreateSecret")
        .header("content-type", "application/x-amz-json-1.1")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=testing/20261130/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0")
        .body(serde_json::json!({"Name": name, "SecretString": value}).to_string())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn secrets_come_from_parameter_store_in_one_call() {
    let Some(aws) = local_aws().await else { return };
    let client = aws_sdk_ssm::Client::new(&aws.sdk);
    let prefix = format!("/inbox-test/{}", uuid::Uuid::now_v7().simple());
    aws.put_secure_string(&format!("{prefix}/app"), "app-secret-value").await;
    let jwt = format!("inbox-test-jwt-{}", uuid::Uuid::now_v7().simple());
    create_secret(&jwt, "a-jwt-secret-of-at-least-32-bytes!!").await;

    let env = lookup(&[
        ("META_APP_SECRET_PARAM", &format!("{prefix}/app")),
        ("AUTH_JWT_SECRET_PARAM", &format!("/aws/reference/secretsmanager/{jwt}")),
        ("INSTAGRAM_VERIFY_TOKEN", "plain-is-left-alone"),
    ]);
    let wanted = wanted_parameters(&env).unwrap();
    assert_eq!(wanted.iter().map(|(v, _)| *v).collect::<Vec<_>>(), ["META_APP_SECRET", "AUTH_JWT_SECRET"]);
    let values = fetch(&client, &wanted).await.unwrap();
    assert_eq!(values["META_APP_SECRET"], "app-secret-value", "SecureString decrypted");
    assert_eq!(values["AUTH_JWT_SECRET"], "a-jwt-secret-of-at-least-32-bytes!!", "Secrets Manager through SSM");
    assert_eq!(values.len(), 2, "plain variables are not fetched");

    // One parameter missing fails the whole read, naming the variable, never a value.
    let env = lookup(&[("META_APP_SECRET_PARAM", &format!("{prefix}/app")), ("AUTH_JWT_SECRET_PARAM", "/nope")]);
    let err = fetch(&client, &wanted_parameters(&env).unwrap()).await.unwrap_err().to_string();
    assert!(err.contains("AUTH_JWT_SECRET_PARAM names /nope"), "{err}");
    assert!(!err.contains("app-secret-value"), "{err}");
}

#[test]
fn a_secret_given_twice_is_refused_and_empty_names_are_ignored() {
    let both = lookup(&[("META_APP_SECRET", "x"), ("META_APP_SECRET_PARAM", "/p")]);
    assert!(wanted_parameters(&both).unwrap_err().to_string().contains("not both"));
    let empty = lookup(&[("META_APP_SECRET_PARAM", "  ")]);
    assert!(wanted_parameters(&empty).unwrap().is_empty());
}
