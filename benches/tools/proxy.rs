//! A loopback TCP proxy that adds a round-trip time: one request/response exchange through it
//! costs one RTT, and so does the TCP handshake it stands for.
//!
//! Each direction's bytes are delivered RTT/2 after they were read, in order. The client's TCP
//! connect to the proxy completes at once, so the proxy emulates the handshake: it connects
//! upstream 1.5 RTT after accepting (when a real server would accept, the client's final ACK
//! having travelled), and holds client bytes read earlier until then — as a real client could
//! only send them after its connect returned at 1 RTT.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::Args;

pub async fn run(args: &Args) -> Result<(), String> {
    let port = args.num("--listen")?;
    let target = args.need("--target")?.to_owned();
    let rtt = Duration::from_millis(args.num("--rtt-ms")?);
    let listener = TcpListener::bind(("127.0.0.1", port as u16))
        .await
        .map_err(|e| format!("bind 127.0.0.1:{port}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("proxy {local} -> {target} rtt {} ms", rtt.as_millis());
    loop {
        let (client, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let target = target.clone();
        tokio::spawn(async move {
            if let Err(e) = session(client, &target, rtt).await {
                eprintln!("proxy session: {e}");
            }
        });
    }
}

/// One chunk, or `None` for end of stream, with the instant it may be delivered.
type Timed = (Instant, Option<Vec<u8>>);

async fn session(client: TcpStream, target: &str, rtt: Duration) -> std::io::Result<()> {
    let accepted = Instant::now();
    client.set_nodelay(true)?;
    let (client_r, client_w) = client.into_split();
    let (up_tx, up_rx) = mpsc::unbounded_channel();
    // Read the client from the start, so its early bytes keep their read time.
    let reader = tokio::spawn(pump_in(client_r, up_tx, rtt / 2));
    tokio::time::sleep_until(accepted + rtt * 3 / 2).await;
    let upstream = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(target))
        .await
        .map_err(|_| std::io::Error::other("upstream connect timed out"))??;
    upstream.set_nodelay(true)?;
    let (up_r, up_w) = upstream.into_split();
    let (down_tx, down_rx) = mpsc::unbounded_channel();
    let reader2 = tokio::spawn(pump_in(up_r, down_tx, rtt / 2));
    let w1 = tokio::spawn(pump_out(up_rx, up_w));
    let w2 = tokio::spawn(pump_out(down_rx, client_w));
    let _ = tokio::join!(reader, reader2, w1, w2);
    Ok(())
}

async fn pump_in<R: tokio::io::AsyncRead + Unpin>(
    mut r: R,
    tx: mpsc::UnboundedSender<Timed>,
    delay: Duration,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf).await.unwrap_or(0);
        let due = Instant::now() + delay;
        let chunk = (n > 0).then(|| buf[..n].to_vec());
        let end = chunk.is_none();
        if tx.send((due, chunk)).is_err() || end {
            return;
        }
    }
}

async fn pump_out<W: tokio::io::AsyncWrite + Unpin>(
    mut rx: mpsc::UnboundedReceiver<Timed>,
    mut w: W,
) {
    while let Some((due, chunk)) = rx.recv().await {
        tokio::time::sleep_until(due).await;
        match chunk {
            Some(bytes) => {
                if w.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            None => {
                let _ = w.shutdown().await;
                return;
            }
        }
    }
    let _ = w.shutdown().await;
}
