//! The shape of the JSON report (keys, types, nesting; not values such as times, ports or ids)
//! for a pass and a failure of each command, against checked-in files in tests/golden/. A
//! changed shape fails until it is accepted on purpose: `XOAUTH_BLESS=1 cargo test -p xoauth
//! --test integration json_golden` rewrites them. Every output is also checked against the
//! schema, as the definition its command promises.

use serde_json::{Map, Value};

use crate::util::*;

/// Keys, types and nesting of `v`: each value becomes its JSON type, and an array the distinct
/// shapes of its items in order of first appearance (so a longer list has the same shape).
fn shape(v: &Value) -> Value {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "boolean".into(),
        Value::Number(n) if n.is_f64() => "number".into(),
        Value::Number(_) => "integer".into(),
        Value::String(_) => "string".into(),
        Value::Array(items) => {
            let mut shapes: Vec<Value> = Vec::new();
            for s in items.iter().map(shape) {
                if !shapes.contains(&s) {
                    shapes.push(s);
                }
            }
            Value::Array(shapes)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), shape(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

fn blessing() -> bool {
    std::env::var_os("XOAUTH_BLESS").is_some_and(|v| v == "1")
}

/// Compares the shape of `run`'s document with tests/golden/`name`.shape.json (or writes it).
fn golden(name: &str, kind: &str, run: &Run) {
    let doc = run.json();
    crate::schema::assert_valid_as(kind, &doc, name);
    let got = serde_json::to_string_pretty(&shape(&doc)).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.shape.json"));
    if blessing() {
        std::fs::write(&path, &got).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with XOAUTH_BLESS=1 if this case is new",
            path.display()
        )
    });
    let want: Value = serde_json::from_str(&want).unwrap();
    assert!(
        want == shape(&doc),
        "the JSON shape of {name} changed. Scripts depend on it: if the change is meant, update \
         docs/report.schema.json and README.md, then accept it with \
         `XOAUTH_BLESS=1 cargo test -p xoauth --test integration json_golden`.\n\
         --- {}\n{}\n--- now\n{got}",
        path.display(),
        serde_json::to_string_pretty(&want).unwrap()
    );
}

#[test]
fn shape_keeps_structure_and_drops_values() {
    let a = serde_json::json!({"port": 993, "t": 1.5, "ok": true, "x": null,
        "steps": [{"ms": 1}, {"ms": 2}, {"ms": 3, "extra": "e"}]});
    let b = serde_json::json!({"port": 4, "t": 0.5, "ok": false, "x": null,
        "steps": [{"ms": 9}, {"ms": 3, "extra": "f"}]});
    assert_eq!(shape(&a), shape(&b));
    assert_eq!(
        shape(&a),
        serde_json::json!({"port": "integer", "t": "number", "ok": "boolean", "x": "null",
            "steps": [{"ms": "integer"}, {"ms": "integer", "extra": "string"}]})
    );
    // A renamed key, a changed type, a lost key: each is a different shape.
    for c in [
        serde_json::json!({"Port": 993, "t": 1.5, "ok": true, "x": null, "steps": []}),
        serde_json::json!({"port": "993", "t": 1.5, "ok": true, "x": null,
            "steps": [{"ms": 1}, {"ms": 3, "extra": "e"}]}),
        serde_json::json!({"port": 993, "t": 1.5, "ok": true,
            "steps": [{"ms": 1}, {"ms": 3, "extra": "e"}]}),
    ] {
        assert_ne!(shape(&a), shape(&c), "{c}");
    }
}

async fn run_json(args: Vec<String>, token: Option<&str>) -> Run {
    let mut args = args;
    args.push("--json".into());
    xoauth(&args, token, None).await
}

#[tokio::test(flavor = "multi_thread")]
async fn json_golden_single_protocols() {
    let mock = Mock::start().await;
    let good = mock.token(ALICE);
    for (name, args) in [
        ("imap", mock.imap_args()),
        ("pop", mock.pop_args()),
        ("smtp", mock.smtp_args()),
    ] {
        let run = run_json(with_token(args.clone(), &[]), Some(&good)).await;
        assert_eq!(run.code, 0, "{name}: {}", run.all());
        golden(&format!("{name}-pass"), "report", &run);

        let run = run_json(with_token(args, &[]), Some(BAD_TOKEN)).await;
        assert_eq!(run.code, 1, "{name}: {}", run.all());
        assert_eq!(run.json()["failure"]["kind"], "auth_rejected");
        golden(&format!("{name}-fail"), "report", &run);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn json_golden_check() {
    let mock = Mock::start().await;
    let run = run_json(
        with_token(mock.check_args(false), &[]),
        Some(&mock.token(ALICE)),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    golden("check-pass", "combined", &run);

    let run = run_json(with_token(mock.check_args(false), &[]), Some(BAD_TOKEN)).await;
    assert_eq!(run.code, 1, "{}", run.all());
    golden("check-fail", "combined", &run);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_golden_token_and_usage_error() {
    let mock = Mock::start().await;
    let token = |var: &str| {
        strings(&[
            "token",
            "--user",
            ALICE,
            "--access-token-env",
            var,
            "--json",
        ])
    };
    let run = xoauth(&token("XOAUTH_TEST_TOKEN"), Some(&mock.token(ALICE)), None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    golden("token-pass", "token_report", &run);

    let run = xoauth(&token("XOAUTH_NOT_SET_ANYWHERE"), None, None).await;
    assert_eq!(run.code, 3, "{}", run.all());
    golden("token-fail", "token_report", &run);

    let run = xoauth(
        &strings(&["imap", "--json", "--user", ALICE, "--frobnicate"]),
        None,
        None,
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.all());
    golden("usage-error", "usage_error", &run);
}
