//! The codice fiscale a citizen types: never a panic; an accepted code is 16 normalised
//! characters that parse again to the same code, through `Display` and through serde alike.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ricevo_core::FiscalCode;

fuzz_target!(|input: &str| {
    let Ok(code) = FiscalCode::parse(input) else {
        return;
    };
    let s = code.as_str();
    assert_eq!(s.len(), 16, "{s:?}");
    assert!(s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()), "{s:?}");
    assert_eq!(FiscalCode::parse(&code.to_string()).as_ref(), Ok(&code));
    assert_eq!(FiscalCode::parse(&s.to_ascii_lowercase()).as_ref(), Ok(&code));
    let json = serde_json::to_string(&code).expect("a code serialises");
    assert_eq!(serde_json::from_str::<FiscalCode>(&json).expect("and reads back"), code);
    // A different check character is always refused.
    let last = s.as_bytes()[15];
    let other = if last == b'A' { 'B' } else { 'A' };
    assert!(FiscalCode::parse(&format!("{}{other}", &s[..15])).is_err(), "{s:?}");
});
