//! The EHLO capability model.
