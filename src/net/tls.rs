//! The TLS layer (rustls 0.23, ring provider): client handshakes that record the certificate
//! chain and a verification verdict without failing on it, the handshake and certificate
//! facts, and server configurations for `listen --tls`.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{timeout_at, Instant};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::net::tls_names::{signature_name, suite_name, version_name};

/// The crypto provider, chosen explicitly: ring.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Problems setting TLS up (not handshake outcomes, which are facts).
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read CA file '{path}': {reason}")]
    CaFile { path: String, reason: String },
    #[error("CA file '{0}' holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)")]
    CaFileEmpty(String),
    #[error("cannot read certificate or key '{path}': {reason}")]
    KeyPair { path: String, reason: String },
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// Which roots are trusted (`--trust`), besides those of `--ca-file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// The system store (`/etc/ssl/certs`; `SSL_CERT_FILE`/`SSL_CERT_DIR` override it).
    System,
    /// Mozilla's roots built into portprobe (webpki-roots).
    Bundled,
    Both,
}

impl std::str::FromStr for Trust {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "system" => Ok(Trust::System),
            "bundled" => Ok(Trust::Bundled),
            "both" => Ok(Trust::Both),
            _ => Err(format!(
                "unknown trust store '{}': use system, bundled or both",
                crate::escape::escape_str(s)
            )),
        }
    }
}

/// The trust store: webpki-roots (Mozilla's roots), plus the certificates of `ca_file`.
pub fn root_store(ca_file: Option<&Path>) -> Result<Arc<RootCertStore>, TlsSetupError> {
    Ok(trust_store(ca_file, Trust::Bundled)?.roots)
}

/// What a client trusts: the roots, and the certificates of `--ca-file` themselves (a
/// self-signed server certificate given there is accepted as that server's, as curl does).
#[derive(Debug, Clone)]
pub struct TrustStore {
    pub roots: Arc<RootCertStore>,
    pub pinned: Arc<Vec<CertificateDer<'static>>>,
}

/// Builds the trust of `--trust` and `--ca-file`. An unreadable system store is not an error
/// (the bundled roots or the CA file may be all that is wanted); an empty one with
/// `--trust system` and no CA file is.
pub fn trust_store(ca_file: Option<&Path>, trust: Trust) -> Result<TrustStore, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    if matches!(trust, Trust::Bundled | Trust::Both) {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if matches!(trust, Trust::System | Trust::Both) {
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 && trust == Trust::System && ca_file.is_none() {
            return Err(TlsSetupError::Config(
                "--trust system: the system store holds no certificate (install ca-certificates, or set SSL_CERT_FILE)".into(),
            ));
        }
    }
    let mut pinned = Vec::new();
    if let Some(path) = ca_file {
        let shown = crate::escape::escape_str(&path.display().to_string());
        let pem = crate::limits::read_capped(path, crate::limits::PEM_FILE_CAP).map_err(|e| {
            TlsSetupError::CaFile {
                path: shown.clone(),
                reason: e.to_string(),
            }
        })?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .map_err(|e| TlsSetupError::CaFile {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(TlsSetupError::CaFileEmpty(shown));
        }
        for cert in certs {
            roots.add(cert.clone()).map_err(|e| TlsSetupError::CaFile {
                path: shown.clone(),
                reason: sentence(&e.to_string()),
            })?;
            pinned.push(cert);
        }
    }
    Ok(TrustStore {
        roots: Arc::new(roots),
        pinned: Arc::new(pinned),
    })
}

/// A certificate refusal as a sentence (rustls prints most of them as debug names).
pub fn cert_error_sentence(e: &CertificateError) -> String {
    match e {
        CertificateError::UnknownIssuer => {
            "issued by a CA that is not trusted (give it with --ca-file, or see --trust)".into()
        }
        CertificateError::Expired => "the certificate has expired".into(),
        CertificateError::NotValidYet => "the certificate is not valid yet".into(),
        CertificateError::NotValidForName => "the certificate is not valid for this name".into(),
        CertificateError::BadSignature => "the certificate's signature does not verify".into(),
        CertificateError::BadEncoding => "the certificate is malformed".into(),
        CertificateError::Revoked => "the certificate is revoked".into(),
        CertificateError::InvalidPurpose => "the certificate is not meant for TLS servers".into(),
        CertificateError::Other(o) => sentence(&o.to_string()),
        // rustls words these itself; only webpki's `DnsName("x")` is made plain.
        CertificateError::NotValidForNameContext { .. } => unwrap_names(&e.to_string()),
        other => {
            let text = other.to_string();
            if text.starts_with("UnsupportedSignatureAlgorithm") {
                "the certificate is signed with an algorithm not supported for its key".into()
            } else {
                sentence(&text)
            }
        }
    }
}

/// Why a self-signed certificate is refused, and what to do.
const SELF_SIGNED_DETAIL: &str =
    "the certificate is signed by itself, not by a trusted CA (give that very certificate with --ca-file to trust it)";

/// `DnsName("a")` → `a`, `IpAddress(1.2.3.4)` → `1.2.3.4`, the rest untouched.
fn unwrap_names(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = [("DnsName(\"", "\")"), ("IpAddress(", ")")]
            .iter()
            .filter_map(|(open, close)| rest.find(open).map(|i| (i, *open, *close)))
            .min_by_key(|(i, _, _)| *i);
        let Some((i, open, close)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..i]);
        let after = &rest[i + open.len()..];
        match after.find(close) {
            Some(j) => {
                out.push_str(&after[..j]);
                rest = &after[j + close.len()..];
            }
            None => {
                out.push_str(&rest[i..]);
                return out;
            }
        }
    }
}

/// Turns what rustls and webpki print for some errors (`Other(OtherError(CaUsedAsEndEntity))`,
/// `BadEncoding`) into words; known cases get a sentence of their own.
pub fn sentence(text: &str) -> String {
    if text.contains("CaUsedAsEndEntity") {
        return "the server's certificate is a CA certificate (CA:TRUE), not issued by a trusted CA; give that very certificate with --ca-file to trust it as the server's own".into();
    }
    if text.contains(' ') {
        return text.to_string();
    }
    // The innermost name of a debug print: `Other(OtherError(SomeName))` → "some name".
    let inner = text.trim_end_matches(')').rsplit('(').next().unwrap_or(text);
    let mut words = String::new();
    for (i, c) in inner.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push(' ');
        }
        words.extend(c.to_lowercase());
    }
    words
}

/// Which server name to send (SNI) and to verify the certificate against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameChoice {
    /// The name the certificate is checked against (and sent as SNI unless `send_sni` is off).
    pub name: String,
    pub send_sni: bool,
}

impl NameChoice {
    /// The user's target: a host name is sent as SNI; an IP address is verified as an IP.
    pub fn for_target(typed: &str, sni: Option<&str>, no_sni: bool) -> NameChoice {
        NameChoice {
            name: sni
                .unwrap_or(typed)
                .trim_matches(|c| c == '[' || c == ']')
                .to_string(),
            send_sni: !no_sni,
        }
    }
}

/// How a client handshake should go.
#[derive(Clone)]
pub struct TlsClient {
    pub roots: Arc<RootCertStore>,
    pub alpn: Vec<Vec<u8>>,
    /// Certificates trusted as they are (from `--ca-file`), even as a server's own.
    pub pinned: Arc<Vec<CertificateDer<'static>>>,
}

impl fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsClient({} roots)", self.roots.len())
    }
}

/// Records the chain and the verdict, and lets the handshake go on whatever the verdict:
/// the caller decides whether an untrusted certificate is fatal.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    pinned: Arc<Vec<CertificateDer<'static>>>,
    seen: Mutex<Option<SeenChain>>,
}

/// The chain a server presented and what webpki said of it.
type SeenChain = (Vec<CertificateDer<'static>>, Result<(), rustls::Error>);

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .map(|_| ());
        // A certificate the user gave with --ca-file, presented as the server's own: trusted
        // as it is (curl and ncat accept it), if it is for this name and in its validity.
        if verdict.is_err() && self.pinned.iter().any(|p| p.as_ref() == end_entity.as_ref()) {
            verdict = pinned_verdict(end_entity, server_name, now);
        }
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some((chain, verdict));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner
            .verify_tls12_signature(message, cert, dss)
            .or_else(|e| signed_with_cert_key(message, cert, dss).ok_or(e))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner
            .verify_tls13_signature(message, cert, dss)
            .or_else(|e| signed_with_cert_key(message, cert, dss).ok_or(e))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Checks a handshake signature with the key of a certificate webpki will not read (an X.509
/// version 1 certificate, as old devices still present): the handshake then proves the server
/// holds that key, as with any other certificate; whether to trust it is the chain's verdict,
/// recorded apart. Old devices' 1024-bit RSA keys are accepted here (PKCS#1 only).
fn signed_with_cert_key(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Option<HandshakeSignatureValid> {
    use ring::signature as sig;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let key = parsed.public_key().subject_public_key.data.as_ref();
    let alg: &dyn sig::VerificationAlgorithm = match dss.scheme {
        SignatureScheme::RSA_PKCS1_SHA256 => &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        SignatureScheme::RSA_PKCS1_SHA384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        SignatureScheme::RSA_PKCS1_SHA512 => &sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        SignatureScheme::RSA_PSS_SHA256 => &sig::RSA_PSS_2048_8192_SHA256,
        SignatureScheme::RSA_PSS_SHA384 => &sig::RSA_PSS_2048_8192_SHA384,
        SignatureScheme::RSA_PSS_SHA512 => &sig::RSA_PSS_2048_8192_SHA512,
        SignatureScheme::ECDSA_NISTP256_SHA256 => &sig::ECDSA_P256_SHA256_ASN1,
        SignatureScheme::ECDSA_NISTP384_SHA384 => &sig::ECDSA_P384_SHA384_ASN1,
        SignatureScheme::ED25519 => &sig::ED25519,
        _ => return None,
    };
    sig::UnparsedPublicKey::new(alg, key)
        .verify(message, dss.signature())
        .ok()
        .map(|()| HandshakeSignatureValid::assertion())
}

/// One certificate, as people read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertFacts {
    pub subject: String,
    pub issuer: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub san: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    pub days_left: i64,
    pub serial: String,
    pub signature_algorithm: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    pub sha256: String,
    pub self_signed: bool,
}

/// What the chain verification concluded (JSON: `valid`, `self-signed` …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyStatus {
    Valid,
    Expired,
    NotYetValid,
    NameMismatch,
    SelfSigned,
    UnknownIssuer,
    Invalid,
}

impl VerifyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyStatus::Valid => "valid",
            VerifyStatus::Expired => "expired",
            VerifyStatus::NotYetValid => "not-yet-valid",
            VerifyStatus::NameMismatch => "name-mismatch",
            VerifyStatus::SelfSigned => "self-signed",
            VerifyStatus::UnknownIssuer => "unknown-issuer",
            VerifyStatus::Invalid => "invalid",
        }
    }
}

impl fmt::Display for VerifyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict on the chain for the name used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub status: VerifyStatus,
    pub name: String,
    /// Every problem found, the status first (a self-signed certificate can be expired too).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<VerifyStatus>,
    pub detail: String,
}

impl Verification {
    pub fn is_valid(&self) -> bool {
        self.status == VerifyStatus::Valid
    }
}

/// What a completed handshake showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsFacts {
    pub version: String,
    pub cipher: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    pub verification: Verification,
    /// Leaf first.
    pub chain: Vec<CertFacts>,
}

impl TlsFacts {
    /// `TLSv1.3 TLS13_AES_256_GCM_SHA384 X25519 alpn h2`.
    pub fn summary(&self) -> String {
        let mut s = format!("{} {}", self.version, self.cipher);
        if let Some(g) = &self.group {
            s.push_str(&format!(" {g}"));
        }
        if let Some(a) = &self.alpn {
            s.push_str(&format!(" alpn {a}"));
        }
        s
    }
}

/// Why a handshake did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error("TLS handshake timed out")]
    Timeout,
    #[error("TLS handshake failed: {0}")]
    Failed(String),
    #[error("invalid TLS server name '{0}'")]
    BadName(String),
}

impl TlsClient {
    pub fn new(roots: Arc<RootCertStore>, alpn: Vec<Vec<u8>>) -> TlsClient {
        TlsClient {
            roots,
            alpn,
            pinned: Arc::new(Vec::new()),
        }
    }

    /// A client trusting `trust` (its roots and its pinned certificates).
    pub fn with_trust(trust: TrustStore, alpn: Vec<Vec<u8>>) -> TlsClient {
        TlsClient {
            roots: trust.roots,
            alpn,
            pinned: trust.pinned,
        }
    }

    /// Runs a handshake over `io` until `deadline`; returns the stream and what it showed.
    pub async fn handshake<IO>(
        &self,
        io: IO,
        names: &NameChoice,
        deadline: Instant,
    ) -> Result<(TlsStream<IO>, TlsFacts), HandshakeError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let provider = provider();
        let inner = WebPkiServerVerifier::builder_with_provider(self.roots.clone(), provider.clone())
            .build()
            .map_err(|e| HandshakeError::Failed(e.to_string()))?;
        let verifier = Arc::new(RecordingVerifier {
            inner,
            pinned: self.pinned.clone(),
            seen: Mutex::new(None),
        });
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| HandshakeError::Failed(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        config.alpn_protocols = self.alpn.clone();
        config.enable_sni = names.send_sni;
        let server_name = match names.name.parse::<IpAddr>() {
            Ok(ip) => ServerName::IpAddress(ip.into()),
            Err(_) => ServerName::try_from(names.name.clone())
                .map_err(|_| HandshakeError::BadName(names.name.clone()))?,
        };
        let sends_sni = names.send_sni && matches!(server_name, ServerName::DnsName(_));
        let connector = TlsConnector::from(Arc::new(config));
        let stream = match timeout_at(deadline, connector.connect(server_name, io)).await {
            Err(_) => return Err(HandshakeError::Timeout),
            Ok(Err(e)) => return Err(HandshakeError::Failed(e.to_string())),
            Ok(Ok(s)) => s,
        };
        let (_, conn) = stream.get_ref();
        let seen = verifier.seen.lock().ok().and_then(|mut s| s.take());
        let (chain_der, verdict) = seen.unwrap_or((Vec::new(), Err(rustls::Error::NoCertificatesPresented)));
        let chain: Vec<CertFacts> = chain_der.iter().filter_map(|c| cert_facts(c)).collect();
        let facts = TlsFacts {
            version: conn
                .protocol_version()
                .map_or("unknown".into(), |v| version_name(u16::from(v))),
            cipher: conn
                .negotiated_cipher_suite()
                .map_or("unknown".into(), |s| suite_name(u16::from(s.suite()))),
            alpn: conn
                .alpn_protocol()
                .map(|a| String::from_utf8_lossy(a).into_owned()),
            group: conn
                .negotiated_key_exchange_group()
                .map(|g| format!("{:?}", g.name())),
            sni: sends_sni.then(|| names.name.clone()),
            verification: verification(&names.name, verdict, chain.first()),
            chain,
        };
        Ok((stream, facts))
    }
}

/// The verdict on a pinned certificate used as the server's own: its name and its dates.
fn pinned_verdict(
    cert: &CertificateDer<'_>,
    name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    let parsed = rustls::server::ParsedCertificate::try_from(cert)?;
    rustls::client::verify_server_name(&parsed, name)?;
    use x509_parser::prelude::*;
    let (_, x509) = X509Certificate::from_der(cert.as_ref())
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let now = now.as_secs() as i64;
    if now < x509.validity().not_before.timestamp() {
        return Err(rustls::Error::InvalidCertificate(CertificateError::NotValidYet));
    }
    if now > x509.validity().not_after.timestamp() {
        return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
    }
    Ok(())
}

fn verification(name: &str, verdict: Result<(), rustls::Error>, leaf: Option<&CertFacts>) -> Verification {
    let self_signed = leaf.is_some_and(|c| c.self_signed);
    let expired = leaf.is_some_and(|c| c.days_left < 0);
    use VerifyStatus as S;
    let (status, detail) = match &verdict {
        Ok(()) => (S::Valid, "chain verified against the trust store".to_string()),
        Err(rustls::Error::InvalidCertificate(e)) => {
            let status = match e {
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => S::Expired,
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => S::NotYetValid,
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                    S::NameMismatch
                }
                _ if self_signed => S::SelfSigned,
                CertificateError::UnknownIssuer => S::UnknownIssuer,
                _ => S::Invalid,
            };
            let detail = match e {
                // What webpki stumbles on with a self-signed certificate varies (its own
                // signature, CA:TRUE); what it means does not.
                CertificateError::UnknownIssuer | CertificateError::Other(_) if self_signed => {
                    SELF_SIGNED_DETAIL.to_string()
                }
                _ if status == S::SelfSigned => SELF_SIGNED_DETAIL.to_string(),
                _ => cert_error_sentence(e),
            };
            (status, detail)
        }
        Err(e) if self_signed => (S::SelfSigned, sentence(&e.to_string())),
        Err(e) => (S::Invalid, sentence(&e.to_string())),
    };
    let mut problems = Vec::new();
    if status != S::Valid {
        problems.push(status);
    }
    if self_signed && status != S::SelfSigned {
        problems.push(S::SelfSigned);
    }
    if expired && status != S::Expired {
        problems.push(S::Expired);
    }
    Verification {
        status,
        name: crate::escape::escape_str(name),
        problems,
        // rustls quotes the certificate's names (SANs) here: outside text, escaped once for
        // both the terminal and the JSON `tls.verification.detail`.
        detail: crate::escape::escape_str(&detail),
    }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn iso(t: &x509_parser::time::ASN1Time) -> String {
    let d = t.to_datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// `AB:CD:…` from `ABCD…`, the way certificate fingerprints are printed.
fn colon_pairs(hex: &str) -> String {
    let pairs: Vec<&str> = hex
        .as_bytes()
        .chunks(2)
        .filter_map(|p| std::str::from_utf8(p).ok())
        .collect();
    pairs.join(":")
}

/// Reads one DER certificate into facts; `None` if it does not parse.
pub fn cert_facts(der: &[u8]) -> Option<CertFacts> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut san = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => san.push(format!("DNS:{d}")),
                GeneralName::IPAddress(b) if b.len() == 4 => {
                    san.push(format!("IP:{}", std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3])))
                }
                GeneralName::IPAddress(b) if b.len() == 16 => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(b);
                    san.push(format!("IP:{}", std::net::Ipv6Addr::from(a)))
                }
                GeneralName::RFC822Name(m) => san.push(format!("email:{m}")),
                GeneralName::URI(u) => san.push(format!("URI:{u}")),
                _ => {}
            }
        }
    }
    let not_after = cert.validity().not_after.timestamp();
    let public_key = match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => Some(format!("RSA {}", rsa.key_size())),
        Ok(x509_parser::public_key::PublicKey::EC(ec)) => Some(format!("EC {}", ec.key_size())),
        Ok(_) => Some(format!("{}", cert.public_key().algorithm.algorithm)),
        Err(_) => None,
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let sha256 = hex::encode_upper(digest.as_ref());
    let esc = crate::escape::escape_str;
    Some(CertFacts {
        subject: esc(&cert.subject().to_string()),
        issuer: esc(&cert.issuer().to_string()),
        san: san.iter().map(|s| esc(s)).collect(),
        not_before: iso(&cert.validity().not_before),
        not_after: iso(&cert.validity().not_after),
        days_left: (not_after - now_unix()).div_euclid(86_400),
        serial: cert.raw_serial_as_string(),
        signature_algorithm: signature_name(&cert.signature_algorithm.algorithm),
        public_key,
        sha256: colon_pairs(&sha256),
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
    })
}

/// Loads a PEM certificate chain and private key for a TLS server.
pub fn load_key_pair(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsSetupError> {
    let err = |p: &Path, e: String| TlsSetupError::KeyPair {
        path: crate::escape::escape_str(&p.display().to_string()),
        reason: e,
    };
    let read = |p: &Path| {
        crate::limits::read_capped(p, crate::limits::PEM_FILE_CAP).map_err(|e| err(p, e.to_string()))
    };
    let cert_pem = read(cert)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| err(cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(err(cert, "no PEM certificate in it".into()));
    }
    let key_der = PrivateKeyDer::from_pem_slice(&read(key)?).map_err(|e| err(key, e.to_string()))?;
    Ok((certs, key_der))
}

/// A self-signed certificate for `names`, valid from now for `days` (for `listen --tls`).
pub fn self_signed(
    names: &[String],
    days: u32,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsSetupError> {
    let mut params =
        rcgen::CertificateParams::new(names.to_vec()).map_err(|e| TlsSetupError::Config(e.to_string()))?;
    let now = SystemTime::now();
    params.not_before = now.into();
    params.not_after = (now + Duration::from_secs(u64::from(days) * 86_400)).into();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        names.first().cloned().unwrap_or_else(|| "portprobe".into()),
    );
    let key = rcgen::KeyPair::generate().map_err(|e| TlsSetupError::Config(e.to_string()))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| TlsSetupError::Config(e.to_string()))?;
    let key_der =
        PrivateKeyDer::try_from(key.serialize_der()).map_err(|e| TlsSetupError::Config(e.to_string()))?;
    Ok((vec![cert.der().clone()], key_der))
}

/// A server configuration from a chain and key (ring provider, TLS 1.2 and 1.3).
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    alpn: Vec<Vec<u8>>,
) -> Result<Arc<rustls::ServerConfig>, TlsSetupError> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsSetupError::Config(e.to_string()))?;
    config.alpn_protocols = alpn;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn handshake_records_facts_and_self_signed_verdict() {
        let (chain, key) = self_signed(&["localhost".into()], 30).unwrap();
        let leaf = cert_facts(&chain[0]).unwrap();
        assert!(leaf.self_signed);
        assert!((29..=30).contains(&leaf.days_left), "{}", leaf.days_left);
        assert_eq!(leaf.san, ["DNS:localhost"]);
        let server = server_config(chain, key, vec![b"h2".to_vec()]).unwrap();
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let acceptor = tokio_rustls::TlsAcceptor::from(server);
        let srv = tokio::spawn(async move { acceptor.accept(server_io).await.map(|_| ()) });
        let client = TlsClient::new(
            root_store(None).unwrap(),
            vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        );
        let names = NameChoice::for_target("localhost", None, false);
        let deadline = Instant::now() + Duration::from_secs(5);
        let (_stream, facts) = client.handshake(client_io, &names, deadline).await.unwrap();
        assert_eq!(facts.version, "TLSv1.3");
        assert_eq!(facts.alpn.as_deref(), Some("h2"));
        assert_eq!(facts.sni.as_deref(), Some("localhost"));
        assert_eq!(facts.verification.status, VerifyStatus::SelfSigned);
        assert_eq!(facts.chain.len(), 1);
        assert!(facts.chain[0].sha256.len() == 95);
        srv.await.unwrap().unwrap();
    }

    #[test]
    fn refusals_read_as_sentences() {
        assert_eq!(
            sentence("Other(OtherError(CaUsedAsEndEntity))"),
            "the server's certificate is a CA certificate (CA:TRUE), not issued by a trusted CA; give that very certificate with --ca-file to trust it as the server's own"
        );
        assert_eq!(
            sentence("Other(OtherError(UnsupportedCertVersion))"),
            "unsupported cert version"
        );
        assert_eq!(
            unwrap_names(
                r#"certificate not valid for name "x"; certificate is only valid for DnsName("a") or IpAddress(127.0.0.1)"#
            ),
            r#"certificate not valid for name "x"; certificate is only valid for a or 127.0.0.1"#
        );
    }

    #[test]
    fn names_for_ip_targets_and_overrides() {
        assert_eq!(NameChoice::for_target("[::1]", None, false).name, "::1");
        assert_eq!(
            NameChoice::for_target("192.0.2.1", Some("example.org"), false).name,
            "example.org"
        );
        assert!(!NameChoice::for_target("a", None, true).send_sni);
    }
}
