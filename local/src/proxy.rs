//! A TCP proxy in front of the emulator that can be taken down for a while: the workers' calls
//! then fail as calls to an unreachable AWS endpoint do (connections refused or cut), while the
//! emulator itself, its training jobs and the harness go on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

#[derive(Clone)]
pub struct Proxy {
    pub url: String,
    down_until: Arc<Mutex<Option<Instant>>>,
    /// Bumped when the proxy goes down: open connections end.
    cut: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    /// Forward 127.0.0.1:<free port> to `target` (host:port).
    pub async fn start(target: String) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let proxy = Proxy {
            url,
            down_until: Arc::new(Mutex::new(None)),
            cut: tokio::sync::watch::channel(0).0,
        };
        let me = proxy.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if me.is_down() {
                    drop(inbound); // closed at once: the caller sees its connection fail
                    continue;
                }
                let target = target.clone();
                let mut cut = me.cut.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Ok(proxy)
    }

    fn is_down(&self) -> bool {
        let mut until = self.down_until.lock().unwrap();
        match *until {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                *until = None;
                false
            }
            None => false,
        }
    }

    /// Unreachable for `d`: new connections are closed at once, open ones are cut now.
    pub fn down_for(&self, d: Duration) {
        *self.down_until.lock().unwrap() = Some(Instant::now() + d);
        self.cut.send_modify(|n| *n += 1);
    }
}
