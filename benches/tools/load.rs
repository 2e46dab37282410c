//! Load generator: `--clients` concurrent clients doing full IMAP check sessions back to back
//! for `--secs` seconds; prints sessions per second (completed with every reply OK).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::{Args, imap};

pub async fn run(args: &Args) -> Result<(), String> {
    let addr = args.need("--addr")?.to_owned();
    let tls = imap::connector(args.need("--ca")?)?;
    let token_file = args.need("--token-file")?;
    let token = std::fs::read_to_string(token_file)
        .map_err(|e| format!("{token_file}: {e}"))?
        .trim()
        .to_owned();
    let user = args.need("--user")?.to_owned();
    let clients = args.num("--clients")?;
    let secs = args.num("--secs")?;
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (addr, tls, token, user) = (addr.clone(), tls.clone(), token.clone(), user.clone());
        let (ok, failed) = (ok.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let mut first_error = None;
            while Instant::now() < end {
                let session = async {
                    let mut conn = imap::open(&tls, &addr).await?;
                    imap::check(&mut conn, &user, &token).await
                };
                match tokio::time::timeout(Duration::from_secs(10), session).await {
                    Ok(Ok(())) => ok.fetch_add(1, Ordering::Relaxed),
                    Ok(Err(e)) => {
                        first_error.get_or_insert(e);
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                    Err(_) => {
                        first_error.get_or_insert("timed out".to_owned());
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
            first_error
        }));
    }
    let mut errors = Vec::new();
    for t in tasks {
        if let Ok(Some(e)) = t.await {
            errors.push(e);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    println!(
        "sessions_ok={ok} failed={failed} secs={elapsed:.2} sessions_per_sec={:.1} clients={clients}",
        ok as f64 / elapsed
    );
    if let Some(e) = errors.first() {
        eprintln!("first error: {e}");
    }
    Ok(())
}
