"""Python's smtplib as a client of the example server.

usage: smtplib_client.py HOST PORT MODE [CAFILE]

MODE:
  plain      two messages over one connection: lines starting with dots, a
             UTF-8 sender and recipient with SMTPUTF8, then a 3 MiB message
  starttls   STARTTLS (verified against CAFILE), then AUTH PLAIN, a message;
             a second connection with AUTH LOGIN, a message; and a wrong
             password that must be refused with 535
Writes each sent message, as bytes, to stdout as "<len>\\n<bytes>" records so
the test can compare the Maildir byte for byte.
"""
import smtplib
import ssl
import sys

host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
out = sys.stdout.buffer


def record(msg):
    out.write(b"%d\n" % len(msg))
    out.write(msg)


if mode == "plain":
    dots = (b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n"
            b"a line with a dot . inside\r\n")
    utf8 = "Subject: UTF-8 \u00fcber alles\r\n\r\nGr\u00fc\u00dfe\r\n".encode("utf-8")
    big = b"Subject: big\r\n\r\n" + b"".join(
        b"%08d " % i + b"x" * 90 + b"\r\n" for i in range(32 * 1024))
    with smtplib.SMTP(host, port, timeout=30) as s:
        s.ehlo("smtplib.example")
        assert s.has_extn("smtputf8"), s.esmtp_features
        assert s.has_extn("pipelining"), s.esmtp_features
        refused = s.sendmail("a@example.org", ["b@example.org"], dots)
        assert refused == {}, refused
        record(dots)
        refused = s.sendmail("j\u00f6rg@b\u00fccher.example", ["m\u00fcller@example.org"], utf8,
                             mail_options=["SMTPUTF8"])
        assert refused == {}, refused
        record(utf8)
        refused = s.sendmail("a@example.org", ["big@example.org"], big)
        assert refused == {}, refused
        record(big)
elif mode == "starttls":
    ctx = ssl.create_default_context(cafile=sys.argv[4])
    body = b"Subject: over TLS\r\n\r\nsecret\r\n"
    with smtplib.SMTP(host, port, timeout=30) as s:
        s.ehlo("smtplib.example")
        assert not s.has_extn("auth"), "AUTH offered before TLS"
        s.starttls(context=ctx)
        s.ehlo("smtplib.example")
        assert "PLAIN" in s.esmtp_features["auth"], s.esmtp_features
        s.user, s.password = "alice", "s3cret"
        code, _ = s.auth("PLAIN", s.auth_plain)
        assert code == 235, code
        s.sendmail("alice@example.org", ["b@example.org"], body)
        record(body)
    with smtplib.SMTP(host, port, timeout=30) as s:
        s.starttls(context=ctx)
        s.ehlo("smtplib.example")  # RFC 3207 §4.2: EHLO again after TLS
        s.user, s.password = "alice", "s3cret"
        code, _ = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        assert code == 235, code
        s.sendmail("alice@example.org", ["c@example.org"], body)
        record(body)
    with smtplib.SMTP(host, port, timeout=30) as s:
        s.starttls(context=ctx)
        try:
            s.login("alice", "wrong")
            raise SystemExit("a wrong password was accepted")
        except smtplib.SMTPAuthenticationError as e:
            assert e.smtp_code == 535, e
else:
    raise SystemExit("unknown mode " + mode)
