//! Bounces: a delivery status notification (RFC 3464, `multipart/report`,
//! RFC 6522) to the sender, with the original headers, from the null sender
//! so that it can never bounce in turn (RFC 5321 §4.5.5, §6.1).

use std::io;
use std::time::SystemTime;

use smtp_tokio::maildir::rfc5322_date;

use crate::Shared;
use crate::queue::Record;

/// The header block of `content`: up to the empty line, its last CRLF
/// included (all of `content` without one).
pub fn headers(content: &[u8]) -> &[u8] {
    match content.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(end) => &content[..end + 2],
        None => content,
    }
}

/// The status code at the front of a failure text (`5.1.1 ...`, or a reply
/// `550 5.1.1 ...`), or `5.0.0`.
fn status_of(why: &str) -> String {
    why.split_whitespace()
        .take(2)
        .find(|w| {
            let parts: Vec<&str> = w.split('.').collect();
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map_or_else(|| "5.0.0".to_string(), |s| format!("5{}", &s[1..]))
}

/// The bounce message for `failed` recipients of `record`.
pub fn message(
    hostname: &str,
    record: &Record,
    content: &[u8],
    failed: &[(String, String)],
) -> Vec<u8> {
    let boundary = format!("{}/{hostname}", record.id);
    let date = rfc5322_date(SystemTime::now());
    let arrival =
        rfc5322_date(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(record.created));
    let mut m = String::new();
    m.push_str(&format!(
        "From: Mail Delivery System <MAILER-DAEMON@{hostname}>\r\n\
         To: <{}>\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         Date: {date}\r\n\
         Message-ID: <{}.bounce@{hostname}>\r\n\
         Auto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status;\r\n\
         \tboundary=\"{boundary}\"\r\n\
         \r\n\
         This is a MIME-encapsulated message.\r\n\
         \r\n\
         --{boundary}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         This is the mail system at host {hostname}.\r\n\
         \r\n\
         Your message could not be delivered to one or more recipients:\r\n\
         \r\n",
        record.sender, record.id
    ));
    for (rcpt, why) in failed {
        m.push_str(&format!("<{rcpt}>: {why}\r\n"));
    }
    m.push_str(&format!(
        "\r\n--{boundary}\r\n\
         Content-Type: message/delivery-status\r\n\
         \r\n\
         Reporting-MTA: dns; {hostname}\r\n\
         X-Queue-ID: {}\r\n\
         Arrival-Date: {arrival}\r\n",
        record.id
    ));
    for (rcpt, why) in failed {
        let diagnostic = match why.split_whitespace().next() {
            Some(code) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) => {
                format!("\r\nDiagnostic-Code: smtp; {why}")
            }
            _ => String::new(),
        };
        m.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {rcpt}\r\n\
             Action: failed\r\n\
             Status: {}{diagnostic}\r\n",
            status_of(why)
        ));
    }
    m.push_str(&format!(
        "\r\n--{boundary}\r\n\
         Content-Type: text/rfc822-headers\r\n\
         \r\n"
    ));
    let mut bytes = m.into_bytes();
    bytes.extend_from_slice(headers(content));
    if !bytes.ends_with(b"\r\n") {
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    bytes
}

/// Queues the bounce for `failed` recipients of `record` (whose sender is
/// not null: the caller checks).
pub async fn queue(
    shared: &Shared,
    record: &Record,
    content: &[u8],
    failed: &[(String, String)],
) -> io::Result<()> {
    let bounce = message(&shared.config.hostname, record, content, failed);
    let queued = shared
        .queue
        .enqueue("", std::slice::from_ref(&record.sender), &[&bounce])
        .await?;
    tracing::info!(id = %record.id, bounce = %queued.id, to = %record.sender, "bounce queued");
    shared.wake.notify_one();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{Recipient, Status};

    #[test]
    fn a_bounce_is_a_delivery_status_report_with_the_original_headers() {
        let record = Record {
            id: "abc".into(),
            sender: "a@example.org".into(),
            recipients: vec![Recipient {
                address: "x@example.net".into(),
                status: Status::Pending { last: None },
            }],
            created: 0,
            attempts: 1,
            next_attempt: 0,
            size: 0,
        };
        let content = b"Subject: hello\r\nX-Original: yes\r\n\r\nsecret body\r\n";
        let failed = vec![(
            "x@example.net".to_string(),
            "550 5.1.1 No such user".to_string(),
        )];
        let text = String::from_utf8(message("mx.example.org", &record, content, &failed)).unwrap();
        assert!(text.contains("Content-Type: multipart/report; report-type=delivery-status;"));
        assert!(text.contains("Final-Recipient: rfc822; x@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 No such user"));
        assert!(text.contains(
            "Content-Type: text/rfc822-headers\r\n\r\nSubject: hello\r\nX-Original: yes\r\n"
        ));
        assert!(!text.contains("secret body"));
        assert!(text.ends_with("--\r\n"));
        assert_eq!(status_of("4.4.7 message expired"), "5.4.7");
        assert_eq!(status_of("whatever"), "5.0.0");
    }
}
