//! What a staff form is made of: the posted fields, the errors found in them, the readers of
//! one line, a block of text or a number, and the choice between Italian and English.

pub(crate) use crate::lang::tr;
use ricevo_core::Lang;
use ricevo_core::text::{multi_line, single_line};

/// The fields of a submitted form, in order (repeated names allowed).
#[derive(Debug, Default, Clone)]
pub(crate) struct Fields(pub(crate) Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, or "".
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }
    /// Every value of `name`.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    /// Whether a checkbox `name` was ticked.
    pub(crate) fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
    /// Sets `name` to `value`.
    pub(crate) fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.retain(|(k, _)| k != name);
        self.0.push((name.to_owned(), value.into()));
    }
}

/// Problems with a submitted form, by field name.
#[derive(Debug, Default, Clone)]
pub(crate) struct Errors(pub(crate) Vec<(String, String)>);

impl Errors {
    /// Records a problem with `field`.
    pub(crate) fn add(&mut self, field: &str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field.to_owned(), message.into()));
        }
    }
    /// The problem with `field`, if any.
    pub(crate) fn get(&self, field: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k == field).map(|(_, v)| v.clone())
    }
    /// Whether nothing is wrong.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A one-line text that may be empty.
pub(crate) fn optional_line(form: &Fields, name: &str, max: usize, lang: Lang, errors: &mut Errors) -> String {
    let raw = form.get(name);
    if raw.trim().is_empty() {
        return String::new();
    }
    single_line(raw, max).unwrap_or_else(|e| {
        errors.add(name, e.message(lang));
        String::new()
    })
}

/// A one-line text that must be given.
pub(crate) fn required_line(form: &Fields, name: &str, max: usize, lang: Lang, errors: &mut Errors) -> String {
    single_line(form.get(name), max).unwrap_or_else(|e| {
        errors.add(name, e.message(lang));
        String::new()
    })
}

/// A text of several lines that may be empty.
pub(crate) fn text_block(form: &Fields, name: &str, max: usize, lang: Lang, errors: &mut Errors) -> String {
    match multi_line(form.get(name), max) {
        Ok(v) => v.unwrap_or_default(),
        Err(e) => {
            errors.add(name, e.message(lang));
            String::new()
        }
    }
}

/// Parses a whole number typed in a field.
pub(crate) fn int_field(form: &Fields, name: &str, lang: Lang, errors: &mut Errors) -> Option<i32> {
    let raw = form.get(name).trim();
    match raw.parse::<i32>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add(name, tr(lang, "Indica un numero intero.", "Enter a whole number."));
            None
        }
    }
}
