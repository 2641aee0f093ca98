//! A `#![no_std]` staticlib that links smtp-proto without std (see Cargo.toml).
#![no_std]

use core::alloc::{GlobalAlloc, Layout};

/// Never called: the library is only linked, not run.
struct NoAlloc;

// SAFETY: returning null is a valid (failing) allocation; dealloc is never reached.
unsafe impl GlobalAlloc for NoAlloc {
    unsafe fn alloc(&self, _layout: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }
    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: NoAlloc = NoAlloc;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

/// Uses the parsers so that they are compiled and linked.
#[unsafe(no_mangle)]
pub extern "C" fn smtp_proto_nostd_check() -> usize {
    let opts = smtp_proto::wire::command::ParseOptions::default();
    let cmd = smtp_proto::wire::command::parse_command(b"MAIL FROM:<a@b.example>", &opts);
    let mut decoder = smtp_proto::wire::data::DataDecoder::new(Default::default());
    let mut out = alloc_vec();
    let status = decoder.decode(b"hi\r\n.\r\n", &mut out);
    let config = alloc::sync::Arc::new(smtp_proto::client::ClientConfig::default());
    let mut client =
        smtp_proto::client::ClientSession::new(config, smtp_proto::time::Instant::ZERO);
    let _ = client.handle_bytes(smtp_proto::time::Instant::ZERO, b"220 mx.example ESMTP\r\n");
    let polled = matches!(
        client.poll_output(),
        smtp_proto::output::Output::Transmit(_)
    );
    usize::from(cmd.is_ok()) + status.consumed + usize::from(polled)
}

extern crate alloc;
fn alloc_vec() -> alloc::vec::Vec<u8> {
    alloc::vec::Vec::new()
}
