//! `xoauth check --mailboxes`: a bulk audit against the mock, app-only and delegated, its
//! outputs agreeing on the counts, and its bad input refused with exit code 2.

use crate::util::*;

const SALES: &str = "sales@contoso.example";
const PAYROLL: &str = "payroll@contoso.example";
const CAROL: &str = "carol@contoso.example";

/// The demo tenant where the daemon app may also open bob (whose SMTP AUTH is off) and carol
/// (POP off), but not alice or payroll.
async fn tenant() -> Mock {
    Mock::with(|c| {
        for m in &mut c.mailboxes {
            if m.address == BOB || m.address == CAROL {
                m.full_access.push(DAEMON.to_string());
            }
        }
    })
    .await
}

/// `check` against every listener of the mock, without `--user`.
fn check_args(mock: &Mock) -> Vec<String> {
    let mut args = mock.check_args(false);
    let i = args.iter().position(|a| a == "--user").unwrap();
    args.drain(i..i + 2);
    args
}

/// App-only: `--client-id DAEMON --client-secret-env S`, the list in a file.
fn app_only(mock: &Mock, list: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let mut args = check_args(mock);
    args.extend(strings(&["--mailboxes", list.to_str().unwrap()]));
    mock.oauth(
        args,
        DAEMON,
        &[&["--client-secret-env", "S"][..], extra].concat(),
    )
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The cell lines of an audit's JSON output, and its summary line.
fn lines(run: &Run) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut docs: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = docs.pop().unwrap();
    (docs, summary)
}

/// mailbox → protocol → outcome (or failure kind).
fn grid(cells: &[serde_json::Value]) -> Vec<(String, String, String)> {
    cells
        .iter()
        .map(|c| {
            (
                c["mailbox"].as_str().unwrap().to_string(),
                c["protocol"].as_str().unwrap().to_string(),
                c["kind"].as_str().unwrap_or("pass").to_string(),
            )
        })
        .collect()
}

const LIST: &str = "# mailboxes the daemon should open\n\
                    sales@contoso.example\n\
                    alice@contoso.example\n\
                    not-an-address\n\
                    carol@contoso.example\n\
                    bob@contoso.example\n\
                    payroll@contoso.example\n\
                    SALES@contoso.example\n";

#[tokio::test(flavor = "multi_thread")]
async fn app_only_audit_grid_counts_and_exit_code() {
    let mock = tenant().await;
    let dir = tempfile::tempdir().unwrap();
    let list = write(&dir, "list.txt", LIST);
    let run = xoauth_env(
        &app_only(&mock, &list, &[]),
        &[("S", DAEMON_SECRET)],
        None,
    )
    .await;
    eprintln!("{}", run.all());
    panic!("explore");
}
