//! Differential: a `ClientSession` delivering to a `ServerSession` in memory,
//! with the server offering PIPELINING/CHUNKING/BINARYMIME/LMTP or not, byte
//! pieces of any size both ways, application verdicts on every step and bodies
//! of any bytes, all from the input. `smtp_proto::testkit::pair::run_pair`
//! asserts that the client's per-recipient results match the verdicts and that
//! the server received byte for byte the body the client was given (line
//! endings normalised, or verbatim for BINARYMIME); any disagreement, stall or
//! panic is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtp_proto::testkit::pair::{Message, Scenario, Verdict, run_pair};
use smtp_proto_fuzz::input::Input;

fn verdict(b: u8) -> Verdict {
    match b % 8 {
        0 => Verdict::Temporary,
        1 => Verdict::Permanent,
        _ => Verdict::Accept,
    }
}

fn sizes(input: &mut Input<'_>, max: usize) -> Vec<usize> {
    let n = usize::from(input.u8() % 4) + 1;
    (0..n).map(|_| usize::from(input.u8()) % max + 1).collect()
}

fn scenario(data: &[u8]) -> Scenario {
    let mut input = Input::new(data);
    let flags = input.u8();
    let chunk_size = usize::from(input.u8()) + 1;
    let body_buffer = usize::from(input.u16() % 1024) + 1;
    let c2s = sizes(&mut input, 96);
    let s2c = sizes(&mut input, 96);
    let count = usize::from(input.u8() % 4) + 1;
    let messages = (0..count)
        .map(|_| {
            let mail = verdict(input.u8());
            let rcpts = (0..usize::from(input.u8() % 5) + 1)
                .map(|_| verdict(input.u8()))
                .collect();
            let data = verdict(input.u8());
            let finals = (0..6).map(|_| verdict(input.u8())).collect();
            let options = input.u8();
            let pieces = sizes(&mut input, 300);
            let len = usize::from(input.u16() % 2048);
            let body = input.bytes(len).to_vec();
            Message {
                mail,
                rcpts,
                data,
                finals,
                body,
                binary: options & 1 != 0,
                size_hint: options & 2 != 0,
                pieces,
            }
        })
        .collect();
    Scenario {
        lmtp: flags & 1 != 0,
        pipelining: flags & 2 != 0,
        chunking: flags & 4 != 0,
        binarymime: flags & 8 != 0,
        client_pipelining: flags & 0x10 == 0,
        client_chunking: flags & 0x20 == 0,
        chunk_size,
        body_buffer,
        c2s,
        s2c,
        messages,
    }
}

fuzz_target!(|data: &[u8]| {
    let sc = scenario(data);
    if let Err(e) = run_pair(&sc) {
        panic!("client and server disagree: {e}\n{sc:?}");
    }
});
