//! SPID/CIE sign-in for citizens: the `[identity]` settings, the relying parties built from
//! them, and the `ricevo identity` commands that make and rotate their keys.
//!
//! One relying party for the instance (`mode = "instance"`, entity id = `public_url`) or one
//! per town (`mode = "town"`, entity id = `{public_url}/{slug}`). Keys live in
//! `<data_dir>/identity/instance.json` or `<data_dir>/identity/town-{slug}.json` (mode 0600).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;
use ricevo_identity::{Acr, FederationSettings, RelyingParties, RelyingParty, RelyingPartyKeys, TrustAnchor};
use serde::Deserialize;

use crate::config::{Config, ConfigError};

/// Whether and how citizens sign in with SPID/CIE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum IdentityMode {
    /// No SPID/CIE sign-in (the default).
    #[default]
    Off,
    /// One relying party for every town of the instance.
    Instance,
    /// One relying party per town.
    Town,
}

/// A trust anchor of the federation, its keys pinned here: a JWKS file or the JSON inline.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrustAnchorConfig {
    /// The anchor's entity id, such as `https://registry.spid.gov.it`.
    pub(crate) entity_id: String,
    /// A file holding the anchor's federation JWKS (`{"keys": [...]}`).
    pub(crate) jwks_file: Option<PathBuf>,
    /// The anchor's federation JWKS as JSON text.
    pub(crate) jwks: Option<String>,
}

/// What a town publishes differently from the instance (`[identity.towns.<slug>]`, town mode).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TownIdentityConfig {
    /// The town's superiors in the federation.
    pub(crate) authority_hints: Option<Vec<String>>,
    /// The trust marks issued to the town's relying party (JWTs).
    pub(crate) trust_marks: Option<Vec<String>>,
    /// The name published in its metadata, such as "Comune di Prato".
    pub(crate) organization_name: Option<String>,
    /// Contacts published in its metadata.
    pub(crate) contacts: Option<Vec<String>>,
    /// The providers it offers (entity ids); absent: the instance's list.
    pub(crate) providers: Option<Vec<String>>,
}

/// The `[identity]` settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct IdentityConfig {
    /// off, instance or town.
    pub(crate) mode: IdentityMode,
    /// The level asked: spid-l1, spid-l2 (default) or spid-l3.
    pub(crate) acr: String,
    /// Only for local tests: entity ids and endpoints may be http:// URLs.
    pub(crate) allow_http: bool,
    /// The trust anchors whose chains are accepted.
    pub(crate) trust_anchors: Vec<TrustAnchorConfig>,
    /// Our superiors in the federation (instance mode, and towns without their own).
    pub(crate) authority_hints: Vec<String>,
    /// Trust marks issued to the instance's relying party (JWTs).
    pub(crate) trust_marks: Vec<String>,
    /// The providers offered (entity ids); empty: those the trust anchors list.
    pub(crate) providers: Vec<String>,
    /// The providers that are CIE (all others are SPID).
    pub(crate) cie_providers: Vec<String>,
    /// The organization named in our metadata.
    pub(crate) organization_name: String,
    /// Contacts (e-mail addresses) in our metadata.
    pub(crate) contacts: Vec<String>,
    /// Per-town settings, by slug (town mode).
    pub(crate) towns: BTreeMap<String, TownIdentityConfig>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            mode: IdentityMode::Off,
            acr: "spid-l2".into(),
            allow_http: false,
            trust_anchors: Vec::new(),
            authority_hints: Vec::new(),
            trust_marks: Vec::new(),
            providers: Vec::new(),
            cie_providers: Vec::new(),
            organization_name: String::new(),
            contacts: Vec::new(),
            towns: BTreeMap::new(),
        }
    }
}

fn list(v: &str) -> Vec<String> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { name, reason: reason.into() }
}

impl IdentityConfig {
    /// `RICEVO_IDENTITY_*` over the file's values.
    pub(crate) fn apply_env(&mut self, env: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = env("RICEVO_IDENTITY_MODE") {
            self.mode = match v.trim().to_ascii_lowercase().as_str() {
                "off" | "" => IdentityMode::Off,
                "instance" => IdentityMode::Instance,
                "town" => IdentityMode::Town,
                other => {
                    return Err(invalid("RICEVO_IDENTITY_MODE", format!("use off, instance or town, not {other:?}")));
                }
            };
        }
        if let Some(v) = env("RICEVO_IDENTITY_ACR") {
            self.acr = v;
        }
        if let Some(v) = env("RICEVO_IDENTITY_ALLOW_HTTP") {
            self.allow_http = match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                other => {
                    return Err(invalid(
                        "RICEVO_IDENTITY_ALLOW_HTTP",
                        format!("expected true or false, got {other:?}"),
                    ));
                }
            };
        }
        if let Some(id) = env("RICEVO_IDENTITY_TRUST_ANCHOR") {
            let keys = env("RICEVO_IDENTITY_TRUST_ANCHOR_JWKS").unwrap_or_default();
            let (jwks, jwks_file) =
                if keys.trim_start().starts_with('{') { (Some(keys), None) } else { (None, Some(PathBuf::from(keys))) };
            self.trust_anchors = vec![TrustAnchorConfig { entity_id: id, jwks_file, jwks }];
        }
        if let Some(v) = env("RICEVO_IDENTITY_AUTHORITY_HINTS") {
            self.authority_hints = list(&v);
        }
        if let Some(v) = env("RICEVO_IDENTITY_TRUST_MARKS") {
            self.trust_marks = list(&v);
        }
        if let Some(v) = env("RICEVO_IDENTITY_PROVIDERS") {
            self.providers = list(&v);
        }
        if let Some(v) = env("RICEVO_IDENTITY_CIE_PROVIDERS") {
            self.cie_providers = list(&v);
        }
        if let Some(v) = env("RICEVO_IDENTITY_ORGANIZATION_NAME") {
            self.organization_name = v;
        }
        if let Some(v) = env("RICEVO_IDENTITY_CONTACTS") {
            self.contacts = list(&v);
        }
        Ok(())
    }

    /// The settings are usable (when sign-in is on).
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        self.acr()?;
        if self.mode == IdentityMode::Off {
            return Ok(());
        }
        if self.trust_anchors.is_empty() {
            return Err(invalid("identity.trust_anchors", "at least one trust anchor, with its keys"));
        }
        for anchor in &self.trust_anchors {
            if !is_url(&anchor.entity_id, self.allow_http) {
                return Err(invalid(
                    "identity.trust_anchors",
                    format!("{:?} is not an https:// entity id", anchor.entity_id),
                ));
            }
            match (&anchor.jwks, &anchor.jwks_file) {
                (Some(json), None) => {
                    parse_jwks(json)
                        .map_err(|e| invalid("identity.trust_anchors", format!("{}: {e}", anchor.entity_id)))?;
                }
                (None, Some(_)) => {}
                _ => {
                    return Err(invalid(
                        "identity.trust_anchors",
                        format!("{}: give exactly one of jwks_file and jwks", anchor.entity_id),
                    ));
                }
            }
        }
        let hints =
            self.authority_hints.iter().chain(self.towns.values().flat_map(|t| t.authority_hints.iter().flatten()));
        for hint in hints {
            if !is_url(hint, self.allow_http) {
                return Err(invalid("identity.authority_hints", format!("{hint:?} is not an https:// entity id")));
            }
        }
        let providers = self.providers.iter().chain(&self.cie_providers);
        for provider in providers.chain(self.towns.values().flat_map(|t| t.providers.iter().flatten())) {
            if !is_url(provider, self.allow_http) {
                return Err(invalid("identity.providers", format!("{provider:?} is not an https:// entity id")));
            }
        }
        if self.mode == IdentityMode::Instance && self.authority_hints.is_empty() {
            return Err(invalid("identity.authority_hints", "the trust anchor or intermediate that registered us"));
        }
        if self.organization_name.trim().is_empty() {
            return Err(invalid("identity.organization_name", "the name published in the federation"));
        }
        for slug in self.towns.keys() {
            ricevo_core::Slug::parse(slug)
                .map_err(|_| invalid("identity.towns", format!("{slug:?} is not a town slug")))?;
        }
        Ok(())
    }

    /// The level of assurance asked.
    pub(crate) fn acr(&self) -> Result<Acr, ConfigError> {
        Acr::parse(&self.acr).ok_or_else(|| invalid("identity.acr", "spid-l1, spid-l2 or spid-l3"))
    }

    /// The trust anchors with their keys read.
    fn anchors(&self) -> Result<Vec<TrustAnchor>, String> {
        self.trust_anchors
            .iter()
            .map(|anchor| {
                let text = match (&anchor.jwks, &anchor.jwks_file) {
                    (Some(json), _) => json.clone(),
                    (None, Some(path)) => std::fs::read_to_string(path)
                        .map_err(|e| format!("trust anchor {} keys {}: {e}", anchor.entity_id, path.display()))?,
                    (None, None) => return Err(format!("trust anchor {} has no keys", anchor.entity_id)),
                };
                let jwks = parse_jwks(&text).map_err(|e| format!("trust anchor {} keys: {e}", anchor.entity_id))?;
                Ok(TrustAnchor { entity_id: anchor.entity_id.trim_end_matches('/').to_owned(), jwks })
            })
            .collect()
    }

    /// The federation settings of the instance's relying party, or of `town`'s.
    fn settings(&self, anchors: &[TrustAnchor], town: Option<&str>) -> Result<FederationSettings, String> {
        let own = town.and_then(|slug| self.towns.get(slug));
        let pick = |own: Option<&Vec<String>>, instance: &Vec<String>| own.unwrap_or(instance).clone();
        Ok(FederationSettings {
            trust_anchors: anchors.to_vec(),
            authority_hints: pick(own.and_then(|t| t.authority_hints.as_ref()), &self.authority_hints),
            // The instance's trust marks name the instance's entity id: a town's relying party
            // has only its own.
            trust_marks: match town {
                Some(_) => own.and_then(|t| t.trust_marks.clone()).unwrap_or_default(),
                None => self.trust_marks.clone(),
            },
            providers: pick(own.and_then(|t| t.providers.as_ref()), &self.providers),
            acr: self.acr().map_err(|e| e.to_string())?,
            allow_http: self.allow_http,
            contacts: pick(own.and_then(|t| t.contacts.as_ref()), &self.contacts),
            organization_name: own
                .and_then(|t| t.organization_name.clone())
                .unwrap_or_else(|| self.organization_name.clone()),
        })
    }
}

fn parse_jwks(text: &str) -> Result<serde_json::Value, String> {
    let jwks: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let has_keys = jwks.get("keys").and_then(serde_json::Value::as_array).is_some_and(|k| !k.is_empty());
    if !has_keys {
        return Err("a JWKS with at least one key: {\"keys\": [...]}".into());
    }
    Ok(jwks)
}

fn is_url(text: &str, allow_http: bool) -> bool {
    text.starts_with("https://") || (allow_http && text.starts_with("http://"))
}

/// Where a relying party's keys are kept.
pub(crate) fn key_file(config: &Config, town: Option<&str>) -> PathBuf {
    let dir = config.data_dir.join("identity");
    match town {
        Some(slug) => dir.join(format!("town-{slug}.json")),
        None => dir.join("instance.json"),
    }
}

/// The instance's relying parties as configured: `None` when SPID/CIE sign-in is off. Keys are
/// created on first use. In town mode, one relying party per slug of `towns`.
pub(crate) fn relying_parties(config: &Config, towns: &[String]) -> Result<Option<RelyingParties>, String> {
    let identity = &config.identity;
    if identity.mode == IdentityMode::Off {
        return Ok(None);
    }
    let anchors = identity.anchors()?;
    let http = reqwest::Client::builder()
        .user_agent(concat!("ricevo/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("identity: HTTP client: {e}"))?;
    let build = |entity_id: String, town: Option<&str>| -> Result<RelyingParty, String> {
        let path = key_file(config, town);
        let keys = RelyingPartyKeys::load_or_create(&path).map_err(|e| format!("identity: {e}"))?;
        let settings = identity.settings(&anchors, town)?;
        let rp = RelyingParty::new(&entity_id, Arc::new(keys), settings, http.clone())
            .map_err(|e| format!("identity ({entity_id}): {e}"))?;
        Ok(rp.with_cie_providers(identity.cie_providers.clone()))
    };
    let public = config.public_url();
    match identity.mode {
        IdentityMode::Off => Ok(None),
        IdentityMode::Instance => Ok(Some(RelyingParties::instance(build(public, None)?))),
        IdentityMode::Town => {
            let mut rps = Vec::new();
            for slug in towns {
                ricevo_core::Slug::parse(slug).map_err(|_| format!("identity: {slug:?} is not a town slug"))?;
                rps.push((slug.clone(), build(format!("{public}/{slug}"), Some(slug))?));
            }
            Ok(Some(RelyingParties::per_town(rps)))
        }
    }
}

/// `ricevo identity ...`: the relying party's keys.
#[derive(Debug, Subcommand)]
pub(crate) enum IdentityCommand {
    /// Create the keys if missing and print the public federation JWKS (for onboarding with
    /// the trust anchor or intermediate).
    Keys {
        /// The town's relying party (town mode); without it, the instance's.
        #[arg(long)]
        town: Option<String>,
    },
    /// Make new keys; the previous ones keep signing for 24 hours and stay published for 48,
    /// so register the printed federation keys with the trust anchor within 24 hours.
    RotateKeys {
        /// The town's relying party (town mode); without it, the instance's.
        #[arg(long)]
        town: Option<String>,
    },
}

/// Runs an `identity` command; prints the public federation JWKS on standard output.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub(crate) fn run(command: &IdentityCommand, config: &Config) -> Result<(), String> {
    let (town, rotate) = match command {
        IdentityCommand::Keys { town } => (town.as_deref(), false),
        IdentityCommand::RotateKeys { town } => (town.as_deref(), true),
    };
    if let Some(slug) = town {
        ricevo_core::Slug::parse(slug).map_err(|_| format!("--town {slug:?} is not a town slug"))?;
    } else if config.identity.mode == IdentityMode::Town {
        return Err("identity.mode is town: name the town with --town".into());
    }
    let path = key_file(config, town);
    let keys = if rotate { RelyingPartyKeys::rotate(&path) } else { RelyingPartyKeys::load_or_create(&path) }
        .map_err(|e| e.to_string())?;
    let entity_id = match town {
        Some(slug) => format!("{}/{slug}", config.public_url()),
        None => config.public_url(),
    };
    println!("{}", keys.public_federation_jwks());
    eprintln!("entity id {entity_id}, keys in {}", path.display());
    if rotate {
        eprintln!(
            "register these federation keys with the trust anchor or intermediate within 24 hours: \
             until then the previous keys still sign"
        );
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    const JWKS: &str = r#"{"keys":[{"kty":"RSA","kid":"ta1","use":"sig","e":"AQAB","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw"}]}"#;

    fn load(toml_text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ricevo.toml");
        std::fs::write(&path, toml_text).unwrap();
        Config::load(Some(&path), env(vars))
    }

    const INSTANCE: &str = r#"
public_url = "https://prenota.comune.example.it"
[identity]
mode = "instance"
acr = "spid-l2"
authority_hints = ["https://registry.spid.example.it"]
organization_name = "Comune di Esempio"
contacts = ["urp@comune.example.it"]
cie_providers = ["https://id.cie.example.it"]
[[identity.trust_anchors]]
entity_id = "https://registry.spid.example.it"
jwks = '{"keys":[{"kty":"RSA","kid":"ta1","e":"AQAB","n":"xyz"}]}'
"#;

    #[test]
    fn without_an_identity_section_sign_in_is_off() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config.identity.mode, IdentityMode::Off);
        assert!(relying_parties(&config, &["prova".into()]).unwrap().is_none());
    }

    #[test]
    fn the_instance_section_is_read_and_checked() {
        let config = load(INSTANCE, &[]).unwrap();
        assert_eq!(config.identity.mode, IdentityMode::Instance);
        assert_eq!(config.identity.acr().unwrap(), Acr::SpidL2);
        assert_eq!(config.identity.trust_anchors[0].entity_id, "https://registry.spid.example.it");
        assert_eq!(config.identity.cie_providers, vec!["https://id.cie.example.it".to_owned()]);
    }

    #[test]
    fn bad_identity_settings_are_refused_with_their_name() {
        let cases = [
            (INSTANCE.replace("spid-l2", "spid-l9"), "identity.acr"),
            (
                INSTANCE.replace("authority_hints = [\"https://registry.spid.example.it\"]", "authority_hints = []"),
                "identity.authority_hints",
            ),
            (INSTANCE.replace("organization_name = \"Comune di Esempio\"", ""), "identity.organization_name"),
            (
                INSTANCE.replace(
                    "jwks = '{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"ta1\",\"e\":\"AQAB\",\"n\":\"xyz\"}]}'",
                    "jwks = '{\"keys\":[]}'",
                ),
                "identity.trust_anchors",
            ),
            (
                INSTANCE.replace("entity_id = \"https://registry", "entity_id = \"http://registry"),
                "identity.trust_anchors",
            ),
            (INSTANCE.replace("mode = \"instance\"", "mode = \"everyone\""), "everyone"),
        ];
        for (text, name) in cases {
            let e = load(&text, &[]).unwrap_err().to_string();
            assert!(e.contains(name), "{name}: {e}");
        }
    }

    #[test]
    fn environment_variables_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let jwks = dir.path().join("ta.json");
        std::fs::write(&jwks, JWKS).unwrap();
        let config = load(
            INSTANCE,
            &[
                ("RICEVO_IDENTITY_ACR", "spid-l3"),
                ("RICEVO_IDENTITY_PROVIDERS", "https://op1.example.it, https://op2.example.it"),
                ("RICEVO_IDENTITY_TRUST_ANCHOR", "https://ta.example.it"),
                ("RICEVO_IDENTITY_TRUST_ANCHOR_JWKS", jwks.to_str().unwrap()),
                ("RICEVO_IDENTITY_ORGANIZATION_NAME", "Comune di Altrove"),
            ],
        )
        .unwrap();
        assert_eq!(config.identity.acr().unwrap(), Acr::SpidL3);
        assert_eq!(
            config.identity.providers,
            vec!["https://op1.example.it".to_owned(), "https://op2.example.it".to_owned()]
        );
        assert_eq!(config.identity.trust_anchors[0].jwks_file.as_deref(), Some(jwks.as_path()));
        assert_eq!(config.identity.organization_name, "Comune di Altrove");
        let off = load(INSTANCE, &[("RICEVO_IDENTITY_MODE", "off")]).unwrap();
        assert_eq!(off.identity.mode, IdentityMode::Off);
    }

    #[test]
    fn instance_mode_builds_one_relying_party_at_the_public_url_with_keys_in_the_data_dir() {
        let data = tempfile::tempdir().unwrap();
        let mut config = load(&INSTANCE.replace("\"xyz\"", "\"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw\""), &[]).unwrap();
        config.data_dir = data.path().to_owned();
        let rps = relying_parties(&config, &["prova".into(), "altra".into()]).unwrap().unwrap();
        let rp = rps.instance_rp().unwrap();
        assert_eq!(rp.entity_id(), "https://prenota.comune.example.it");
        assert_eq!(rps.for_town("altra").unwrap().entity_id(), rp.entity_id());
        assert!(data.path().join("identity/instance.json").exists());
        assert!(rp.entity_configuration(jiff::Timestamp::now()).is_ok());
    }

    #[test]
    fn town_mode_builds_one_relying_party_per_town_with_its_own_keys_and_name() {
        let data = tempfile::tempdir().unwrap();
        let text = format!(
            "{}\n[identity.towns.prova]\norganization_name = \"Comune di Prova\"\nauthority_hints = [\"https://regione.example.it\"]\n",
            INSTANCE.replace("mode = \"instance\"", "mode = \"town\"").replace(
                "\"xyz\"",
                &format!(
                    "{:?}",
                    serde_json::from_str::<serde_json::Value>(JWKS).unwrap()["keys"][0]["n"].as_str().unwrap()
                )
            )
        );
        let mut config = load(&text, &[]).unwrap();
        config.data_dir = data.path().to_owned();
        let rps = relying_parties(&config, &["prova".into(), "altra".into()]).unwrap().unwrap();
        assert!(rps.instance_rp().is_none());
        let prova = rps.for_town("prova").unwrap();
        let altra = rps.for_town("altra").unwrap();
        assert_eq!(prova.entity_id(), "https://prenota.comune.example.it/prova");
        assert_eq!(altra.entity_id(), "https://prenota.comune.example.it/altra");
        assert!(rps.for_town("nessuna").is_none());
        assert!(data.path().join("identity/town-prova.json").exists());
        assert!(data.path().join("identity/town-altra.json").exists());
        let keys_p = std::fs::read(data.path().join("identity/town-prova.json")).unwrap();
        let keys_a = std::fs::read(data.path().join("identity/town-altra.json")).unwrap();
        assert_ne!(keys_p, keys_a, "each town has its own keys");

        // Each town's entity configuration names its own organization and superiors.
        let now = jiff::Timestamp::now();
        let claims = |jwt: String| -> serde_json::Value {
            use base64::Engine;
            let part = jwt.split('.').nth(1).unwrap();
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        let p = claims(prova.entity_configuration(now).unwrap());
        let a = claims(altra.entity_configuration(now).unwrap());
        assert_eq!(p["metadata"]["federation_entity"]["organization_name"], "Comune di Prova");
        assert_eq!(p["authority_hints"], serde_json::json!(["https://regione.example.it"]));
        assert_eq!(a["metadata"]["federation_entity"]["organization_name"], "Comune di Esempio");
        assert_eq!(a["authority_hints"], serde_json::json!(["https://registry.spid.example.it"]));
    }
}
