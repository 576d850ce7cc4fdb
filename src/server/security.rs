//! Who may connect and over what: SCRAM-SHA-256 password verifiers and the optional TLS acceptor.
//!
//! Passwords come from a file (`--password-file`), one `user:secret` per line, where the secret
//! is either a password in clear (turned into a SCRAM verifier with a random salt when the
//! file is read; the clear text is not kept) or a PostgreSQL verifier as stored in
//! `pg_authid.rolpassword` (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`).
//! `#` starts a comment line.
//!
//! Invariants: the server keeps only verifiers (salt, iterations, StoredKey, ServerKey), never
//! a password; an unknown user goes through the same exchange with a made-up verifier and fails
//! at the same step with the same message as a wrong password, so the answer does not tell
//! which users exist.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use pgwire::api::auth::sasl::scram::{ScramSecret, gen_salted_password};
use tokio_rustls::rustls;

/// The SCRAM iteration count for verifiers made from clear-text passwords (PostgreSQL's).
pub const SCRAM_ITERATIONS: usize = 4096;

/// One user's SCRAM-SHA-256 verifier.
#[derive(Clone)]
pub struct Verifier {
    salt: Vec<u8>,
    iterations: usize,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier").field("iterations", &self.iterations).finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for `password` with a fresh random salt.
    pub fn from_password(password: &str) -> Verifier {
        let salt: [u8; 16] = rand::random();
        let salted = gen_salted_password(password, &salt, SCRAM_ITERATIONS);
        Verifier::from_secret(ScramSecret::verifier_from_salted_password(
            salt.to_vec(),
            salted,
            SCRAM_ITERATIONS,
        ))
    }

    /// A verifier no password matches, for users that do not exist.
    fn impossible() -> Verifier {
        Verifier {
            salt: rand::random::<[u8; 16]>().to_vec(),
            iterations: SCRAM_ITERATIONS,
            stored_key: rand::random::<[u8; 32]>().to_vec(),
            server_key: rand::random::<[u8; 32]>().to_vec(),
        }
    }

    fn from_secret(secret: ScramSecret) -> Verifier {
        match secret {
            ScramSecret::Verifier { salt, iterations, stored_key, server_key } => {
                Verifier { salt, iterations, stored_key, server_key }
            }
            ScramSecret::SaltedPassword { salt, salted_password } => Verifier::from_secret(
                ScramSecret::verifier_from_salted_password(salt, salted_password, SCRAM_ITERATIONS),
            ),
        }
    }

    /// Parses PostgreSQL's `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
    pub fn parse_postgres(text: &str) -> Result<Verifier, String> {
        let bad = || format!("not a SCRAM-SHA-256 verifier: {text:.24}...");
        let rest = text.strip_prefix("SCRAM-SHA-256$").ok_or_else(bad)?;
        let (params, keys) = rest.split_once('$').ok_or_else(bad)?;
        let (iterations, salt) = params.split_once(':').ok_or_else(bad)?;
        let (stored_key, server_key) = keys.split_once(':').ok_or_else(bad)?;
        let decode = |s: &str| BASE64.decode(s).map_err(|_| bad());
        let verifier = Verifier {
            salt: decode(salt)?,
            iterations: iterations.parse().map_err(|_| bad())?,
            stored_key: decode(stored_key)?,
            server_key: decode(server_key)?,
        };
        if verifier.iterations == 0
            || verifier.stored_key.len() != 32
            || verifier.server_key.len() != 32
        {
            return Err(bad());
        }
        Ok(verifier)
    }

    /// The secret pgwire's SCRAM state machine checks the client's proof against.
    pub fn secret(&self) -> ScramSecret {
        ScramSecret::Verifier {
            salt: self.salt.clone(),
            iterations: self.iterations,
            stored_key: self.stored_key.clone(),
            server_key: self.server_key.clone(),
        }
    }
}

/// The users allowed to connect and their verifiers.
#[derive(Debug, Default)]
pub struct Credentials {
    users: HashMap<String, Verifier>,
}

impl Credentials {
    /// Reads a password file (see the module doc).
    pub fn load(path: &Path) -> Result<Credentials, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read password file {}: {e}", path.display()))?;
        Credentials::parse(&text).map_err(|e| format!("password file {}: {e}", path.display()))
    }

    /// Parses password-file text.
    pub fn parse(text: &str) -> Result<Credentials, String> {
        let mut users = HashMap::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, secret) = line
                .split_once(':')
                .ok_or_else(|| format!("line {}: expected user:password", number + 1))?;
            if user.is_empty() || secret.is_empty() {
                return Err(format!("line {}: empty user or password", number + 1));
            }
            let verifier = if secret.starts_with("SCRAM-SHA-256$") {
                Verifier::parse_postgres(secret).map_err(|e| format!("line {}: {e}", number + 1))?
            } else {
                Verifier::from_password(secret)
            };
            users.insert(user.to_string(), verifier);
        }
        if users.is_empty() {
            return Err("no users".into());
        }
        Ok(Credentials { users })
    }

    /// The verifier to run the exchange with: the user's, or one nothing matches.
    pub fn verifier_for(&self, user: &str) -> Verifier {
        self.users.get(user).cloned().unwrap_or_else(Verifier::impossible)
    }
}

/// Builds the TLS acceptor from a PEM certificate chain and a PEM private key.
pub fn load_tls(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| format!("cannot read certificate {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read private key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate and key do not make a server config: {e}"))?;
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG_VERIFIER_OF_SECRET: &str = "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$\
        Ce3wZiZ+yIBCjltccfRiqM0+XDsLE3qPdkEeZKe3hus=:k3q4nlLsA09ST5FLo9zNmfyXR+Ci1J4KmBK5JRVSxeI=";

    #[test]
    fn a_verifier_made_from_a_password_equals_the_one_postgres_would_store() {
        let salt = b"saltsaltsaltsalt".to_vec();
        let salted = gen_salted_password("secret", &salt, 4096);
        let made =
            Verifier::from_secret(ScramSecret::verifier_from_salted_password(salt, salted, 4096));
        let parsed = Verifier::parse_postgres(PG_VERIFIER_OF_SECRET).unwrap();
        assert_eq!(made.stored_key, parsed.stored_key);
        assert_eq!(made.server_key, parsed.server_key);
    }

    #[test]
    fn clear_text_and_postgres_verifiers_are_read() {
        // The verifier for password "secret" with salt "saltsaltsaltsalt" (computed with
        // Python's hashlib; the wire test logs in with it through psql).
        let pg = PG_VERIFIER_OF_SECRET;
        let creds = Credentials::parse(&format!("# users\nalice:wonderland\nbob:{pg}\n")).unwrap();
        assert_eq!(creds.users.len(), 2);
        assert_eq!(creds.users["bob"].iterations, 4096);
        assert_eq!(creds.users["bob"].salt, b"saltsaltsaltsalt");
        assert_eq!(creds.users["alice"].stored_key.len(), 32);
        assert!(Credentials::parse("alice").unwrap_err().contains("line 1"));
        assert!(Credentials::parse("# nobody\n").unwrap_err().contains("no users"));
        assert!(Credentials::parse("bob:SCRAM-SHA-256$x").is_err());
    }

    #[test]
    fn an_unknown_user_gets_a_verifier_nothing_matches() {
        let creds = Credentials::parse("alice:wonderland").unwrap();
        let a = creds.verifier_for("mallory");
        let b = creds.verifier_for("mallory");
        assert_ne!(a.stored_key, b.stored_key);
        assert_eq!(a.iterations, SCRAM_ITERATIONS);
    }
}
