//! The API's JSON bodies (`POST /api/v1/{tenant}/appointments`, move, status) as the handlers
//! read them, through the core's booking check: never a panic; a refusal names its fields;
//! accepted details hold only clean values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ricevo_core::Lang;
use ricevo_core::citizen::check_booking;
use ricevo_fuzz_support::{assert_clean_details, service};

#[path = "support.rs"]
mod ricevo_fuzz_support;

fuzz_target!(|body: &[u8]| {
    ricevo_input::fuzzing::api_small_bodies(body);
    let Some((_start, input)) = ricevo_input::fuzzing::api_booking_input(body, Lang::En) else {
        return;
    };
    let (rules, questions) = service();
    match check_booking(&input, &rules, &questions, Lang::En) {
        Ok(details) => assert_clean_details(&details),
        Err(errors) => {
            assert!(!errors.is_empty());
            assert!(errors.iter().all(|e| !e.field.is_empty() && !e.message.is_empty()), "{errors:?}");
        }
    }
});
