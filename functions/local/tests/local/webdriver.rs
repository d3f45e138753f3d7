//! Just enough of the W3C WebDriver protocol to drive Debian's headless Chromium through
//! `chromedriver`: open a page, find elements, type, click, run a script, take a screenshot.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The key W3C gives an element reference in a JSON answer.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    http: reqwest::Client,
}

impl Browser {
    /// Chromium through `chromedriver` (Debian's paths, or `CHROMIUM` and `CHROMEDRIVER`), or
    /// `None` where they are not installed (the test command installs them and sets
    /// `REQUIRE_BROWSER_TESTS`, so there a missing one fails).
    pub async fn start() -> Option<Browser> {
        let path = |var: &str, default: &str| std::env::var(var).unwrap_or_else(|_| default.to_owned());
        let (driver_path, chromium) =
            (path("CHROMEDRIVER", "/usr/bin/chromedriver"), path("CHROMIUM", "/usr/bin/chromium"));
        let (driver_path, chromium) = (driver_path.as_str(), chromium.as_str());
        if !std::path::Path::new(driver_path).exists() || !std::path::Path::new(chromium).exists() {
            assert!(std::env::var_os("REQUIRE_BROWSER_TESTS").is_none(), "chromium and chromedriver are required");
            eprintln!("skipped: {chromium} or {driver_path} is not installed");
            return None;
        }
        let port = super::server::free_port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut browser = Browser { driver, base: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() };
        let started = Instant::now();
        while browser.http.get(format!("{}/status", browser.base)).send().await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,860"]
        }}}});
        let session = browser.call("POST", "/session", capabilities).await;
        let id = session["sessionId"].as_str().expect("a session").to_owned();
        browser.base = format!("{}/session/{id}", browser.base);
        Some(browser)
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let answer: Value = request.send().await.expect("chromedriver answers").json().await.unwrap();
        assert!(answer["value"]["error"].is_null(), "{method} {path}: {answer}");
        answer["value"].clone()
    }

    pub async fn open(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url })).await;
    }

    /// The first element `css` selects (the test fails when there is none).
    pub async fn find(&self, css: &str) -> String {
        let found = self.call("POST", "/element", json!({"using": "css selector", "value": css})).await;
        found[ELEMENT].as_str().expect("an element").to_owned()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call("POST", &format!("/element/{element}/value"), json!({ "text": text })).await;
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call("POST", &format!("/element/{element}/click"), json!({})).await;
    }

    /// What `script` (a function body) returns in the page.
    pub async fn eval(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", json!({"script": script, "args": []})).await
    }

    /// Waits until `script` returns something truthy in the page, and returns it.
    pub async fn wait_for(&self, what: &str, script: &str) -> Value {
        let started = Instant::now();
        loop {
            let found = self.eval(script).await;
            if !(found.is_null() || found == json!(false) || found == json!("")) {
                return found;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "waited 30 s in the page for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine as _;
        let png = self.call("GET", "/screenshot", Value::Null).await;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    pub async fn close(mut self) {
        self.call("DELETE", "", Value::Null).await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill(); // a failed test leaves no chromedriver behind
    }
}
