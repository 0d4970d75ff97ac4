//! The booking form as posted (`application/x-www-form-urlencoded`, decoded as axum's `Form`
//! does) through the page's reading of it into the core's booking check: never a panic; every
//! refusal names a field and says why; accepted details hold only clean values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ricevo_core::Lang;
use ricevo_core::citizen::check_booking;
use ricevo_fuzz_support::{assert_clean_details, service};

#[path = "support.rs"]
mod ricevo_fuzz_support;

fuzz_target!(|body: &[u8]| {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) else {
        return;
    };
    for lang in [Lang::It, Lang::En] {
        let input = ricevo_input::fuzzing::form_booking_input(pairs.clone(), lang);
        let (rules, questions) = service();
        match check_booking(&input, &rules, &questions, lang) {
            Ok(details) => assert_clean_details(&details),
            Err(errors) => {
                assert!(!errors.is_empty());
                assert!(errors.iter().all(|e| !e.field.is_empty() && !e.message.is_empty()), "{errors:?}");
            }
        }
    }
});
