//! SMTP replies (RFC 5321 §4.2) and enhanced status codes (RFC 3463).
