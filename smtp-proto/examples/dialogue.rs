//! Plays one SMTP dialogue in memory using only the wire layer, and prints it.
//!
//! The client side encodes commands and dot-stuffs the message; the server side
//! frames lines, parses commands, decodes DATA and encodes replies. Every byte
//! printed went through the parsers and encoders of `smtp-proto`.
//!
//! Run with `cargo run -p smtp-proto --example dialogue`.

use smtp_proto::ext::{Capabilities, Extension};
use smtp_proto::reply::{
    EnhancedCode, Reply, ReplyCode, ReplyParse, ReplyParseOptions, parse_reply,
};
use smtp_proto::wire::command::{Command, ParseOptions, parse_command};
use smtp_proto::wire::data::{DataDecoder, DataDecoderConfig, DotStuffer};
use smtp_proto::wire::line::{Framed, LineEnding, frame_line};

fn show(prefix: &str, bytes: &[u8]) {
    for line in String::from_utf8_lossy(bytes).split_inclusive("\r\n") {
        println!("{prefix} {}", line.trim_end_matches("\r\n"));
    }
}

/// The server's side of the exchange: parse one command line, answer it.
fn answer(line: &[u8]) -> Reply {
    let ok = |text: &str| {
        Reply::new(
            ReplyCode::new(250).unwrap(),
            EnhancedCode::new(2, 0, 0),
            text,
        )
    };
    match parse_command(line, &ParseOptions::default()) {
        Ok(Command::Ehlo(name)) => {
            let caps = Capabilities {
                domain: "mx.example.net".into(),
                greeting: format!("greets {name}"),
                extensions: vec![
                    Extension::Pipelining,
                    Extension::Size(Some(10 << 20)),
                    Extension::EightBitMime,
                    Extension::EnhancedStatusCodes,
                    Extension::Chunking,
                ],
            };
            caps.to_reply()
        }
        Ok(Command::Mail { from, .. }) => ok(&format!("sender {from} ok")),
        Ok(Command::Rcpt { to, .. }) => ok(&format!("recipient {to} ok")),
        Ok(Command::Data) => Reply::new(
            ReplyCode::new(354).unwrap(),
            None,
            "end data with <CR><LF>.<CR><LF>",
        ),
        Ok(Command::Quit) => Reply::new(
            ReplyCode::new(221).unwrap(),
            EnhancedCode::new(2, 0, 0),
            "bye",
        ),
        Ok(_) => ok("ok"),
        Err(e) => Reply::new(
            ReplyCode::new(501).unwrap(),
            EnhancedCode::new(5, 5, 4),
            &e.to_string(),
        ),
    }
}

fn main() {
    let greeting = Reply::new(
        ReplyCode::new(220).unwrap(),
        None,
        "mx.example.net ESMTP smtp-proto",
    );
    show("S:", &greeting.to_bytes());

    let commands = [
        "EHLO client.example.org",
        "MAIL FROM:<alice@example.org> SIZE=64 BODY=8BITMIME",
        "RCPT TO:<bob@example.net>",
        "DATA",
    ];
    for text in commands {
        let cmd = parse_command(text.as_bytes(), &ParseOptions::default()).expect("valid command");
        let bytes = cmd.to_bytes();
        show("C:", &bytes);
        let Framed::Line { line, .. } = frame_line(&bytes, 512, LineEnding::Strict) else {
            unreachable!("one whole line")
        };
        let reply = answer(line).to_bytes();
        show("S:", &reply);
        match parse_reply(&reply, &ReplyParseOptions::default()) {
            Ok(ReplyParse::Complete { reply, .. }) if text.starts_with("EHLO") => {
                let caps = Capabilities::from_ehlo_reply(&reply).expect("EHLO reply");
                println!("   (client sees {} extensions)", caps.extensions.len());
            }
            Ok(ReplyParse::Complete { .. }) => {}
            other => panic!("bad reply: {other:?}"),
        }
    }

    // The message, with a line that starts with a dot and a bare LF the client repairs.
    let body = b"Subject: hello\r\n\r\n.signature line\nbye\r\n";
    let mut wire = Vec::new();
    let mut stuffer = DotStuffer::new();
    stuffer.encode(body, &mut wire);
    stuffer.finish(&mut wire);
    show("C:", &wire);

    let mut decoder = DataDecoder::new(DataDecoderConfig::default());
    let mut content = Vec::new();
    let status = decoder.decode(&wire, &mut content);
    assert!(status.done && status.consumed == wire.len());
    let reply = Reply::new(
        ReplyCode::new(250).unwrap(),
        EnhancedCode::new(2, 0, 0),
        &format!("queued, {} octets", content.len()),
    );
    show("S:", &reply.to_bytes());

    let quit = Command::Quit.to_bytes();
    show("C:", &quit);
    show("S:", &answer(b"QUIT").to_bytes());
}
