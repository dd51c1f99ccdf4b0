//! Whole files: finds inputs that pass `guard::inspect` yet crash calamine.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(init: common::init(), |data: &[u8]| {
    common::check(data, common::Read::Range)
});
