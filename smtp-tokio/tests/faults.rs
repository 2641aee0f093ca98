//! A hostile server against the library client, over a real socket: a
//! reply injected behind STARTTLS is never read. (Hostile and unlucky peers
//! against the example server, for every adapter: `common/example_tests.rs`;
//! a thousand idle connections: `idle_memory.rs`.)

mod common;

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

/// Writes `say` (the scripted server's lines) to the client, then reads the
/// client's next line.
async fn say_then_hear<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut BufReader<S>,
    say: &[u8],
) -> String {
    s.get_mut().write_all(say).await.unwrap();
    let mut line = String::new();
    s.read_line(&mut line).await.unwrap();
    line
}

#[test]
fn a_reply_injected_after_starttls_is_never_read_by_the_client() {
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(made.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    common::block_on_tokio(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let peer = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut tcp = BufReader::new(tcp);
            let line = say_then_hear(&mut tcp, b"220 mx.example ESMTP\r\n").await;
            assert!(line.starts_with("EHLO "), "{line}");
            let line = say_then_hear(&mut tcp, b"250-mx.example\r\n250 STARTTLS\r\n").await;
            assert_eq!(line, "STARTTLS\r\n");
            // The 220 and, in the same packet, a forged EHLO reply offering
            // AUTH and a fake name, as a man in the middle would send.
            tcp.get_mut()
                .write_all(b"220 go ahead\r\n250-forged.example\r\n250 AUTH PLAIN\r\n")
                .await
                .unwrap();
            let tls = acceptor.accept(tcp.into_inner()).await.unwrap();
            let mut tls = BufReader::new(tls);
            let line = say_then_hear(&mut tls, b"").await;
            assert!(
                line.starts_with("EHLO "),
                "the client must say EHLO again, not {line:?}"
            );
            let line = say_then_hear(&mut tls, b"250-mx.example\r\n250 8BITMIME\r\n").await;
            assert_eq!(line, "QUIT\r\n");
            tls.get_mut().write_all(b"221 bye\r\n").await.unwrap();
            let _ = tls.get_mut().shutdown().await;
        });
        let mut options = smtp_tokio::client::ClientOptions::new("localhost", port);
        options.security = smtp_tokio::client::Security::StartTlsRequired;
        options.trust = smtp_tokio::tls::Trust::Insecure;
        let c = smtp_tokio::client::Connection::connect(&options)
            .await
            .expect("connected");
        let caps = c.capabilities().unwrap();
        assert_eq!(caps.domain, "mx.example", "{caps:?}");
        assert!(
            caps.extensions
                .iter()
                .all(|e| !e.to_string().starts_with("AUTH")),
            "{caps:?}"
        );
        c.quit().await.unwrap();
        peer.await.unwrap();
    });
}
