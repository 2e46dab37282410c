//! Holds `--count` idle IMAP connections open to the mock (TLS done and greeting read, and
//! authenticated with `--token-file`) so a script can read the mock's RSS while they are held.

use std::time::Duration;

use crate::{Args, imap};

pub async fn run(args: &Args) -> Result<(), String> {
    let addr = args.need("--addr")?.to_owned();
    let tls = imap::connector(args.need("--ca")?)?;
    let count = args.num("--count")?;
    let hold = Duration::from_secs(args.num("--hold-secs")?);
    let token = match args.get("--token-file") {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| format!("{f}: {e}"))?
                .trim()
                .to_owned(),
        ),
        None => None,
    };
    let user = args.get("--user").unwrap_or("alice@contoso.example");
    let mut held = Vec::new();
    for i in 0..count {
        let open = async {
            let mut conn = imap::open(&tls, &addr).await?;
            if let Some(t) = &token {
                imap::authenticate(&mut conn, user, t).await?;
            }
            Ok::<_, String>(conn)
        };
        let conn = tokio::time::timeout(Duration::from_secs(10), open)
            .await
            .map_err(|_| format!("connection {i} timed out"))??;
        held.push(conn);
    }
    println!("holding {}", held.len());
    tokio::time::sleep(hold).await;
    drop(held);
    Ok(())
}
