//! Generic identification: when no rule names the product, read what the protocol's own grammar
//! says — HTTP product tokens (RFC 9110 §10.2.4), the SSH software version (RFC 4253 §4.2), a
//! greeting's `<product> [v|version] <version>` — and claim it with confidence `generic`.
//! The word lists that keep it honest (platform tokens, stop words) are data in
//! `fingerprints/generic.toml`; this code only knows the grammars. Right or silent: anything
//! that could be a host name, a date, a protocol or an OS is not a product.

use super::decode::{Decoded, Protocol};
use super::{Confidence, Identity};

/// The word lists of `[generic]` tables, merged over every file.
#[derive(Debug, Clone, Default)]
pub struct GenericWords {
    /// HTTP product tokens that name a platform, protocol or component, not the server.
    pub http_skip: Vec<String>,
    /// Tokens that look like products but name nothing (`httpd`, `WebServer`).
    pub not_product: Vec<String>,
    /// Greeting words that end a product name read backwards from a version.
    pub greeting_stop: Vec<String>,
    /// Greeting words that may be part of a name but do not name anything alone.
    pub greeting_generic: Vec<String>,
    /// Words after a version that belong to it (`beta`, `rc1`).
    pub version_suffix: Vec<String>,
    /// Greeting keywords that say which service a reply code belongs to: (word, service).
    pub service_words: Vec<(String, String)>,
}

/// Case-insensitive match against a list whose entries may end in `*` (a prefix).
fn listed(list: &[String], word: &str) -> bool {
    list.iter()
        .any(|entry| match entry.strip_suffix('*').filter(|p| !p.is_empty()) {
            Some(prefix) => word.len() >= prefix.len() && word[..prefix.len()].eq_ignore_ascii_case(prefix),
            None => entry.eq_ignore_ascii_case(word),
        })
}

/// A version: starts with a digit, keeps word characters, dots, `+`, `~`, `-`; never ends in a
/// separator. `None` when nothing version-like is left.
pub fn clean_version(raw: &str) -> Option<String> {
    let v: String = raw
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '~'))
        .collect();
    let v = v.trim_end_matches(['.', '_', '-', '+', '~']);
    (v.starts_with(|c: char| c.is_ascii_digit()) && v.len() <= 40).then(|| v.to_string())
}

/// Mostly digits and dots, as versions are (`9.2p1`, `2019.77.uag`, `0.9.60`), not a random
/// token that happens to start with a digit (`39EVDB8f6LZ`).
fn version_like(v: &str) -> bool {
    let letters = v.chars().filter(|c| c.is_ascii_alphabetic()).count();
    let digits = v.chars().filter(|c| c.is_ascii_digit()).count();
    letters <= 5 && digits >= letters && (v.contains('.') || v.len() <= 6)
}

/// A name that reads like a host name (`mail.example.com`) or an address.
fn looks_like_host(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| !p.is_empty())
        && parts.last().is_some_and(|tld| {
            // `example.com`, `EXAMPLE.COM`; not `Axway.Gateway`, a product's dotted name.
            tld.len() >= 2
                && (tld.chars().all(|c| c.is_ascii_lowercase())
                    || tld.chars().all(|c| c.is_ascii_uppercase()))
        })
        || word.contains('@')
        || (parts.len() == 4 && parts.iter().all(|p| p.parse::<u8>().is_ok()))
}

/// A plausible product name: printable, has a letter, not too long, not a host, not a
/// placeholder (`XXXX`), not a random token (`Nz0V5W3`: letters and digits alternating, as
/// some appliances randomise their banners), not made only of words that name nothing
/// (`SSH_Server`).
fn plausible_product(name: &str, words: &GenericWords) -> bool {
    let placeholder = name
        .chars()
        .all(|c| matches!(c, 'x' | 'X' | '*' | '.' | '-' | '_'));
    let b = name.as_bytes();
    let switches = b
        .windows(2)
        .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit() && w.iter().all(u8::is_ascii_alphanumeric))
        .count();
    let parts: Vec<&str> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let fillers = parts.iter().all(|w| {
        (parts.len() > 1 && listed(&words.not_product, w)) || {
            // CamelCase made of filler words: `SshServer`.
            let lower = w.to_ascii_lowercase();
            [
                "sshserver",
                "sshd",
                "sftpserver",
                "ftpserver",
                "webserver",
                "mailserver",
            ]
            .contains(&lower.as_str())
        }
    });
    name.len() >= 2
        && name.len() <= 48
        && name.chars().any(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        && !placeholder
        && switches <= 2
        && !fillers
        && !looks_like_host(name)
        && !listed(&words.not_product, name)
}

fn text(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok()
}

/// Identifies from the grammar of `decoded`; `service` is what a soft rule already knew.
pub fn identify(decoded: &Decoded<'_>, service: Option<&str>, words: &GenericWords) -> Option<Identity> {
    let (service, product, version, info) = match decoded.protocol {
        Protocol::Http => {
            // A header sent twice (a proxy's and the origin's): the first that names a product.
            let (p, v, i) = decoded
                .get("http.header.server")
                .and_then(text)
                .and_then(|s| s.lines().find_map(|one| http_product(one, words)))
                .or_else(|| {
                    decoded
                        .get("http.header.x-powered-by")
                        .and_then(text)
                        .and_then(|s| http_product(s, words))
                })?;
            (service.unwrap_or("http").to_string(), p, v, i)
        }
        Protocol::Ssh => {
            let software = text(decoded.get("ssh.software")?)?;
            let comment = decoded.get("ssh.comment").and_then(text);
            let (p, v) = ssh_product(software, comment, words)?;
            let proto = decoded
                .get("ssh.protocol")
                .and_then(text)
                .map(|p| format!("protocol {p}"));
            (service.unwrap_or("ssh").to_string(), p, v, proto)
        }
        Protocol::Greeting => {
            let code = text(decoded.get("greeting.code")?)?;
            let body = text(decoded.get("greeting.text")?)?;
            let service = match service {
                Some(s) => s.to_string(),
                None => greeting_service(code, body, words)?,
            };
            // FTP and IMAP servers put their name first (`Xlight FTP Server 3.9`, `Domino IMAP4
            // Server Release 8.5.3`); SMTP puts the host first by rule (RFC 5321 §4.2), and POP3
            // servers often do (`+OK Mailhost POP3 v2003.83`).
            let first_is_name = service == "ftp" || service == "imap";
            let (p, v) = body
                .lines()
                .find_map(|line| greeting_product(line, first_is_name, words))
                .map(|(p, v)| (p, Some(v)))
                .or_else(|| {
                    body.lines()
                        .find_map(|line| greeting_named(line, code, words))
                        .map(|p| (p, None))
                })?;
            (service, p, v, None)
        }
        _ => return None,
    };
    Some(Identity {
        service,
        product: Some(product),
        version,
        info,
        confidence: Confidence::Generic,
        rule: Some(format!("generic-{}", decoded.protocol.as_str())),
        ..Default::default()
    })
}

/// One item of an HTTP product list: `name[/version]` or `(comment)`.
#[derive(Debug, PartialEq, Clone, Copy)]
enum Item<'a> {
    Product(&'a str, Option<&'a str>),
    Comment(&'a str),
}

/// Splits `Server`/`User-Agent` style text into products and comments (RFC 9110 §10.2.4,
/// tolerating `Name(version)` as Jetty writes it). `None` when it is not of that shape.
fn http_items<'a>(value: &'a str, words: &GenericWords) -> Option<Vec<Item<'a>>> {
    let mut items = Vec::new();
    let mut rest = value.trim();
    while !rest.is_empty() && items.len() < 16 {
        if let Some(inner) = rest.strip_prefix('(') {
            let mut depth = 1;
            let end = inner.char_indices().find_map(|(i, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                (depth == 0).then_some(i)
            });
            let end = end.unwrap_or(inner.len());
            items.push(Item::Comment(inner[..end].trim()));
            rest = inner.get(end + 1..).unwrap_or("").trim_start();
            continue;
        }
        let end = rest.find([' ', '\t', '(']).unwrap_or(rest.len());
        let token = &rest[..end];
        rest = rest[end..].trim_start();
        let (name, version) = match token.split_once('/') {
            Some((n, v)) => (n, Some(v)),
            None => (token, None),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
        {
            return None;
        }
        items.push(Item::Product(name, version));
    }
    // `Web++ 1.0.1`, `Cisco AWARE 2.0`, `Apache Tomcat/7.0.47`, `Hiawatha v10.11`: capitalised
    // words naming one product, then its version (alone or as the last word's `/version`).
    if let Some(joined) = leading_words(value, &items, words) {
        return Some(joined);
    }
    // Bare words one after another ("Mini web server 1.0 ZTE corp") are prose, not products.
    let bare = items
        .windows(2)
        .any(|w| matches!(w, [Item::Product(_, None), Item::Product(_, _)]));
    (!bare).then_some(items)
}

/// A dotted version written alone, perhaps after a `v` (`1.0.1`, `v10.11`).
fn bare_version(token: &str) -> Option<&str> {
    let v = token
        .strip_prefix(['v', 'V'])
        .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(token);
    (v.contains('.') && clean_version(v).is_some_and(|c| c == v && version_like(&c))).then_some(v)
}

/// `Name Name … version` or `Name Name …/version` at the start of a `Server` value: up to five
/// capitalised words that are not platform or filler words, read as one product. The words
/// are a slice of `value`; what follows the version must be products or comments.
fn leading_words<'a>(value: &'a str, items: &[Item<'a>], words: &GenericWords) -> Option<Vec<Item<'a>>> {
    let k = items
        .iter()
        .take_while(|i| matches!(i, Item::Product(n, None) if bare_version(n).is_none()))
        .count();
    if k == 0 || k > 5 {
        return None;
    }
    let names: Vec<&str> = items[..k]
        .iter()
        .filter_map(|i| match i {
            Item::Product(n, _) => Some(*n),
            Item::Comment(_) => None,
        })
        .collect();
    let (all, version, rest): (Vec<&str>, &str, &[Item<'a>]) = match items.get(k) {
        // `Apache Tomcat/7.0.47`: the last word carries the version.
        Some(Item::Product(n, Some(v))) => {
            let mut all = names.clone();
            all.push(n);
            (all, v, &items[k + 1..])
        }
        // `Cisco AWARE 2.0`: the version stands alone after the words.
        Some(Item::Product(v, None)) => (names.clone(), bare_version(v)?, &items[k + 1..]),
        _ => return None,
    };
    // One word before its version (`uc-httpd 1.0.0`) may be written in any case; several
    // words read as one name only when each is capitalised, as names are and prose is not.
    let capitalised = all.len() == 1
        || all
            .iter()
            .all(|w| w.starts_with(|c: char| c.is_ascii_uppercase()));
    let quiet = |w: &str| {
        listed(&words.not_product, w) || listed(&words.greeting_generic, w) || listed(&words.http_skip, w)
    };
    let named = all.iter().any(|w| !quiet(w));
    let prose = all
        .iter()
        .any(|w| listed(&words.http_skip, w) || listed(&words.greeting_stop, w));
    // After the version: only products with versions and comments (`(Unix)`), no more prose.
    let tail_ok = rest
        .windows(2)
        .all(|w| !matches!(w, [Item::Product(_, None), Item::Product(_, _)]))
        && !matches!(rest.first(), Some(Item::Product(_, None)));
    if !capitalised || !named || prose || !tail_ok {
        return None;
    }
    let (first, last) = (all.first()?, all.last()?);
    let start = first.as_ptr() as usize - value.as_ptr() as usize;
    let end = last.as_ptr() as usize - value.as_ptr() as usize + last.len();
    let mut out = vec![Item::Product(value.get(start..end)?, Some(version))];
    out.extend_from_slice(rest);
    Some(out)
}

/// The server product of a `Server` value: the first product that is not a platform token.
fn http_product(value: &str, words: &GenericWords) -> Option<(String, Option<String>, Option<String>)> {
    let items = http_items(value, words)?;
    for (i, item) in items.iter().enumerate() {
        let Item::Product(name, version) = item else {
            continue;
        };
        if listed(&words.http_skip, name) {
            continue;
        }
        if !plausible_product(name, words) {
            return None;
        }
        // Jetty(9.4.z): the version in a comment right after the name.
        let comment = match items.get(i + 1) {
            Some(Item::Comment(c)) => Some(*c),
            _ => None,
        };
        let version = match version {
            // `3Com/v1.0`: a `v` before the number is not part of the version.
            Some(v) if !v.is_empty() => clean_version(
                v.strip_prefix(['v', 'V'])
                    .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
                    .unwrap_or(v),
            ),
            // `Zope/(2.13.22, python 2.7.6, linux2)`: an empty version, then a comment.
            _ => comment.and_then(clean_version),
        };
        // A bare name with digits and no version (`web01`, `ip-10-0-0-1`, `prod-lb-3`) is far
        // more often a host's name set by an admin than a product.
        if version.is_none() && name.ends_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let info = comment.filter(|c| clean_version(c).is_none() && !c.is_empty());
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        return Some((name, version, info.map(crate::escape::escape_str)));
    }
    None
}

/// Where the version starts in an SSH `softwareversion`: after the first separator followed by
/// a digit (`name_1.2`, `name-1.2`, `name/1.2`, `name_v1.2`, `SSH.0.1`), else where a dotted
/// version is glued to the name (`VRP5.150`, `wolfSSHv1.4.12`). Returns (end of the name, start
/// of the version).
fn ssh_version_at(software: &str) -> Option<(usize, usize)> {
    let b = software.as_bytes();
    let sep = |c: u8| matches!(c, b'_' | b'-' | b'/');
    let separated = (1..b.len()).find_map(|i| {
        if !b[i].is_ascii_digit() {
            return None;
        }
        if sep(b[i - 1]) || (b[i - 1] == b'.' && i >= 2 && b[i - 2].is_ascii_alphabetic()) {
            return Some((i - 1, i));
        }
        (matches!(b[i - 1], b'v' | b'V') && i >= 2 && sep(b[i - 2])).then(|| (i - 2, i))
    });
    separated.or_else(|| {
        // Digits, a dot and a digit right after a letter: a version glued to the name.
        (1..b.len()).find_map(|i| {
            let glued = b[i].is_ascii_digit()
                && b[i - 1].is_ascii_alphabetic()
                && (i == 1 || !b[i - 2].is_ascii_digit());
            let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            let dotted =
                b.get(i + digits) == Some(&b'.') && b.get(i + digits + 1).is_some_and(u8::is_ascii_digit);
            if !(glued && dotted) {
                return None;
            }
            // `wolfSSHv1.4.12`: the `v` says "version", it is not part of the name.
            let v = matches!(b[i - 1], b'v' | b'V') && i >= 2 && b[i - 2].is_ascii_uppercase();
            Some((if v { i - 1 } else { i }, i))
        })
    })
}

/// A `softwareversion` that reads as random characters rather than a name: some appliances send a
/// random string per box or per connection (`t1VtSi`, `B4I_haIvxy`, `WLH_rbHQLlDeyy`, `rPKx-`).
/// Signs: letters and digits interleaved in mixed case, a trailing separator, an upper-case run
/// ending in a lone lower-case consonant (`PKx`, `QLlD`; not `SFTPGo`; a `v` is a version mark, a
/// final `d` or `s` ends a word), or several lower-to-upper humps with almost no vowels.
fn random_token(t: &str) -> bool {
    let b = t.as_bytes();
    let mixed = b.iter().any(u8::is_ascii_uppercase) && b.iter().any(u8::is_ascii_lowercase);
    let interleaved = (1..b.len()).any(|i| {
        let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let after = &b[(i + digits).min(b.len())..];
        // `J2SSH`: a digit before an acronym is part of a name.
        let acronym = after.iter().take_while(|c| c.is_ascii_uppercase()).count();
        let acronym = acronym >= 2 && !after.get(acronym).is_some_and(u8::is_ascii_lowercase);
        digits > 0
            && b[i - 1].is_ascii_alphabetic()
            && after.first().is_some_and(u8::is_ascii_alphabetic)
            && !acronym
    });
    let lone_lower = b.windows(3).enumerate().any(|(i, w)| {
        let next = b.get(i + 3);
        // A final `d` or `s` after an acronym is a word's ending (`FreeSSHd`, `FTPs`).
        let word_end = matches!(w[2], b'd' | b's') && !next.is_some_and(u8::is_ascii_alphabetic);
        w[0].is_ascii_uppercase()
            && w[1].is_ascii_uppercase()
            && w[2].is_ascii_lowercase()
            && !matches!(w[2], b'v' | b'a' | b'e' | b'i' | b'o' | b'u')
            && !word_end
            && !next.is_some_and(u8::is_ascii_lowercase)
    });
    let humps = b
        .windows(2)
        .filter(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
        .count();
    let letters = b.iter().filter(|c| c.is_ascii_alphabetic()).count();
    let vowels = b
        .iter()
        .filter(|c| matches!(c.to_ascii_lowercase(), b'a' | b'e' | b'i' | b'o' | b'u'))
        .count();
    (mixed && interleaved)
        || t.ends_with(['-', '_'])
        || lone_lower
        || (humps >= 2 && vowels * 10 < letters * 2)
}

/// Words at the end of an SSH name that say "version" rather than name anything
/// (`MoTTY_Release_0.82`, `WinSCP_release_5.9`).
fn strip_release_word(name: &str) -> &str {
    match name.rfind(['_', '-']) {
        Some(i)
            if i > 0
                && ["release", "rel", "build", "version", "ver"]
                    .iter()
                    .any(|w| name[i + 1..].eq_ignore_ascii_case(w)) =>
        {
            &name[..i]
        }
        _ => name,
    }
}

/// SSH `softwareversion`: the name before the version (see [`ssh_version_at`]) and the version;
/// a name without a version goes on into the comment's words up to a version there
/// (`Mocana SSH 6.3`, `HP Integrated Lights-Out mpSSH v1.1`, `WeOnlyDo 1.2.7`).
fn ssh_product(
    software: &str,
    comment: Option<&str>,
    words: &GenericWords,
) -> Option<(String, Option<String>)> {
    let (name, version) = match ssh_version_at(software) {
        Some((name_end, at)) => {
            let name = software[..name_end].trim_end_matches(['_', '-', '/', '.']);
            let version = clean_version(&software[at..]);
            // `Dh-v39EVDB8f6LZ`: a random token (some appliances randomise the string), not a
            // name and a version; claim nothing.
            if version.as_deref().is_some_and(|v| !version_like(v)) || random_token(name) {
                return None;
            }
            (strip_release_word(name), version)
        }
        None if random_token(software) => return None,
        // `name_build` where the build is a hash, not a version: the name alone.
        None => match software.split_once(['_', '-']) {
            // A build hash (`conker_df6142773d`) or a hidden version (`FortiSSH_x.x`).
            Some((name, build))
                if build.chars().any(|c| c.is_ascii_digit())
                    || build.chars().all(|c| matches!(c, 'x' | 'X' | '.')) =>
            {
                (name, None)
            }
            _ => return ssh_name_in_comment(software, comment, words),
        },
    };
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) || !plausible_product(name, words) {
        return None;
    }
    Some((name.to_string(), version))
}

/// A name without a version (`Mocana`, `Zyxel`, `HP`): the comment's words that go on naming
/// it, up to four, and the version that ends them, if any. Words that name a platform or join
/// a sentence end the name; a word with digits in it (`iX512l8j`) ends it too.
fn ssh_name_in_comment(
    software: &str,
    comment: Option<&str>,
    words: &GenericWords,
) -> Option<(String, Option<String>)> {
    let mut name = software.to_string();
    let mut version = None;
    for (n, w) in comment.unwrap_or("").split_whitespace().enumerate() {
        let number = w
            .strip_prefix(['v', 'V'])
            .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or(w);
        if number.starts_with(|c: char| c.is_ascii_digit()) {
            version = clean_version(number).filter(|v| v.contains('.') && version_like(v));
            break;
        }
        let name_like = w.starts_with(|c: char| c.is_ascii_alphabetic())
            && w.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
            && !w.ends_with('-')
            && !random_token(w)
            && !listed(&words.greeting_stop, w)
            && !listed(&words.http_skip, w)
            && !w.chars().all(|c| matches!(c, 'x' | 'X'));
        if n >= 4 || !name_like {
            break;
        }
        name.push(' ');
        name.push_str(w);
    }
    // A bare word ending in digits (`myrouter01`, `srv-3`) is far more often a host's name than
    // a product.
    let host_like = version.is_none() && name == software && software.ends_with(|c: char| c.is_ascii_digit());
    if host_like || !name.starts_with(|c: char| c.is_ascii_alphabetic()) || !plausible_product(&name, words) {
        return None;
    }
    Some((name, version))
}

/// Which service a greeting belongs to, from its reply code and keywords.
fn greeting_service(code: &str, text: &str, words: &GenericWords) -> Option<String> {
    match code {
        "+OK" => return Some("pop3".into()),
        "* OK" | "* PREAUTH" => return Some("imap".into()),
        _ => {}
    }
    // A keyword inside a word counts (`ProFTPD`, `vsFTPd` say FTP); the first word wins.
    let contains = |w: &str, k: &str| {
        !k.is_empty()
            && w.as_bytes()
                .windows(k.len())
                .any(|win| win.eq_ignore_ascii_case(k.as_bytes()))
    };
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .find_map(|w| words.service_words.iter().find(|(k, _)| contains(w, k)))
        .map(|(_, s)| s.clone())
}

/// Strips punctuation a greeting wraps words in.
fn bare(word: &str) -> &str {
    word.trim_matches(|c: char| {
        matches!(
            c,
            '(' | ')' | ',' | ';' | ':' | '"' | '\'' | '<' | '>' | '!' | '*'
        )
    })
}

/// `<product> [v|version] <version>` in one greeting line: the product is the run of name-like
/// words before the version, back to a stop word; it must hold a word that names something.
fn greeting_product(line: &str, first_is_name: bool, words: &GenericWords) -> Option<(String, String)> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    // A product token as HTTP writes them (`FreePOPs/0.0.99`, `Haraka/2.8.28`).
    for raw in &tokens {
        let Some((name, version)) = bare(raw).split_once('/') else {
            continue;
        };
        let named = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
            && !listed(&words.greeting_generic, name)
            && !listed(&words.greeting_stop, name);
        if let Some(v) = clean_version(version).filter(|v| named && v.contains('.') && version_like(v)) {
            if plausible_product(name, words) {
                return Some((name.to_string(), v));
            }
        }
    }
    for (i, raw) in tokens.iter().enumerate() {
        // A version token: `1.2.3`, `v1.2`, `(Version 6.00LS)` …; never an address literal, nor
        // an APOP timestamp (`<1896.697170952@host>`, RFC 1939 §7) or a mail address.
        if raw.starts_with(['[', '<']) || raw.contains('@') || i == 0 {
            continue;
        }
        let t = bare(raw);
        // `v1.2`, `V3`; not `V2R3` (IBM's version-release form, which the `V` belongs to).
        let (t, prefixed) = match t.strip_prefix(['v', 'V']) {
            Some(rest)
                if rest.starts_with(|c: char| c.is_ascii_digit())
                    && clean_version(rest)
                        .is_some_and(|v| v.contains('.') || v.chars().all(|c| c.is_ascii_digit())) =>
            {
                (rest, true)
            }
            _ => (t, false),
        };
        let Some(mut version) = clean_version(t) else {
            continue;
        };
        let dotted = version
            .split('.')
            .take_while(|p| p.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .count()
            >= 2;
        let mut name_end = i;
        let after_word = tokens[i - 1];
        let by_word = ["version", "ver", "ver.", "release", "rel"]
            .iter()
            .any(|w| bare(after_word).eq_ignore_ascii_case(w));
        if by_word {
            name_end = i - 1;
            // `MailEnable Service, Version: 10.23`: a filler word before the comma is skipped.
            if name_end > 0
                && tokens[name_end - 1].ends_with(',')
                && (listed(&words.greeting_stop, bare(tokens[name_end - 1]))
                    || listed(&words.greeting_generic, bare(tokens[name_end - 1])))
            {
                name_end -= 1;
            }
        }
        // `Version 3.0.0.9` is a version even where it could be read as an IPv4 address.
        let address = looks_like_host(&version) && !(by_word && version.split('.').count() == 4);
        if !(dotted || prefixed || by_word) || address || version.contains(':') {
            continue;
        }
        // Dates and times are not versions (2024.01.02 is rare as a version but common as a date).
        if version
            .split('.')
            .next()
            .is_some_and(|y| y.len() == 4 && (y.starts_with("19") || y.starts_with("20")))
            && version.split('.').count() == 3
        {
            continue;
        }
        if let Some(next) = tokens.get(i + 1).map(|w| bare(w)) {
            if listed(&words.version_suffix, next) {
                version = format!("{version} {next}");
            }
        }
        let mut run: Vec<(usize, &str)> = Vec::new();
        let mut j = name_end;
        while j > 0 && run.len() < 4 {
            j -= 1;
            let w = bare(tokens[j]);
            let stop = w.is_empty()
                || listed(&words.greeting_stop, w)
                || looks_like_host(w)
                || w.contains(['[', ']', '<', '>', '@', '=', '/'])
                || !w.chars().any(|c| c.is_ascii_alphabetic())
                // A word that ends a sentence or clause ends the name: `ready. Version 3.2`;
                // but `MailEnable Service, Version: 10.23` names its product before the comma.
                || (tokens[j].ends_with([',', ';', '.'])
                    && !(by_word && j + 1 == name_end && tokens[j].ends_with(',')))
                || (tokens[j].ends_with(':') && !run.is_empty());
            if stop {
                break;
            }
            run.push((j, w));
        }
        run.reverse();
        // `<host> FTP server (Version 6.00LS) ready.`: in the BSD and wu-ftpd template every
        // word before `FTP server (Version` belongs to the host's name, not to a product.
        let bsd_template = by_word
            && tokens[i - 1].starts_with('(')
            && run.len() >= 2
            && run[run.len() - 2].1.eq_ignore_ascii_case("FTP")
            && run[run.len() - 1].1.eq_ignore_ascii_case("server");
        if bsd_template {
            continue;
        }
        // The first word is usually the host: never part of a longer name, unless an FTP or
        // IMAP greeting starts with a capitalised name (`Core FTP Server Version 2.2`).
        if run.len() > 1 && run[0].0 == 0 && !(first_is_name && capitalised_name(run[0].1, words)) {
            run.remove(0);
        }
        while run
            .first()
            .is_some_and(|(_, w)| listed(&words.greeting_generic, w))
        {
            run.remove(0);
        }
        if !run.iter().any(|(_, w)| !listed(&words.greeting_generic, w)) {
            continue;
        }
        // `+OK POP3 mailhost v2003.83 server ready`: one lower-case word right after the POP3
        // or IMAP keyword is the host's name (UW's template), not a product.
        if let [(j, w)] = run.as_slice() {
            let after_keyword = *j > 0
                && ["POP3", "POP", "IMAP", "IMAP4", "IMAP4rev1"]
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(bare(tokens[j - 1])));
            if after_keyword && !w.chars().any(|c| c.is_ascii_uppercase()) {
                continue;
            }
        }
        let name = run.iter().map(|(_, w)| *w).collect::<Vec<_>>().join(" ");
        if plausible_product(&name, words) {
            return Some((name, version));
        }
    }
    None
}

/// A word written as names are and host names rarely are: capitalised, with lower-case
/// letters, no digits at the end, not a filler (`Core`, `Kerio`; not `mail00`, `MAIL`, `MyHost`).
fn capitalised_name(word: &str, words: &GenericWords) -> bool {
    let quiet = |w: &str| {
        listed(&words.not_product, w) || listed(&words.greeting_generic, w) || listed(&words.greeting_stop, w)
    };
    word.starts_with(|c: char| c.is_ascii_uppercase())
        && word.chars().any(|c| c.is_ascii_lowercase())
        && !word.ends_with(|c: char| c.is_ascii_digit())
        && !looks_like_host(word)
        && !quiet(word)
        && !camel_parts(word).iter().all(|p| quiet(p))
}

/// Protocol keywords a greeting puts right after the product's name (`INetSim POP3 Server
/// ready`, `ApexMail IMAP4rev1 server ready`, `DiskStation FTP server ready`).
const KEYWORDS: &[&str] = &[
    "ESMTP",
    "SMTP",
    "LMTP",
    "POP3",
    "POP",
    "IMAP",
    "IMAP4",
    "IMAP4rev1",
    "FTP",
    "FTPD",
    "NNTP",
];

/// Mixed case inside the word, as product names are written and host names rarely are:
/// `DiskStation`, `hMailServer`, `INetSim`, `MDaemon`; not `mail`, `Welcome`, `ADAM2`.
fn camel_case(word: &str) -> bool {
    let b = word.as_bytes();
    let lower_upper = b
        .windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase());
    let upper_run = b.len() >= 3
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_uppercase()
        && b.iter().skip(2).any(u8::is_ascii_lowercase);
    lower_upper || upper_run
}

/// The parts of a CamelCase word (`MyServer` → `My`, `Server`).
fn camel_parts(word: &str) -> Vec<&str> {
    if !word.is_ascii() {
        return vec![word];
    }
    let b = word.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    for i in 1..b.len() {
        let boundary = (b[i].is_ascii_uppercase() && b[i - 1].is_ascii_lowercase())
            || (!b[i].is_ascii_alphanumeric() || !b[i - 1].is_ascii_alphanumeric());
        if boundary {
            parts.push(&word[start..i]);
            start = i;
        }
    }
    parts.push(&word[start..]);
    parts
        .into_iter()
        .map(|p| p.trim_matches(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|p| !p.is_empty())
        .collect()
}

/// A product named without a version: one CamelCase word right before the protocol keyword
/// (`+OK INetSim POP3 Server ready`). Never the first word of an SMTP greeting (the host, RFC
/// 5321 §4.2), never a word made only of filler parts (`MyServer`, `FileServer`), never a
/// word ending in digits (`MAIL01`, `mwinf2j04`: host names).
fn greeting_named(line: &str, code: &str, words: &GenericWords) -> Option<String> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let keyword = |t: &str| KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(bare(t)));
    let smtp = |t: &str| {
        ["ESMTP", "SMTP", "LMTP"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(bare(t)))
    };
    let quiet = |w: &str| {
        listed(&words.not_product, w) || listed(&words.greeting_generic, w) || listed(&words.greeting_stop, w)
    };
    let name = |raw: &str| {
        let word = raw.trim_end_matches([',', ':', ';']);
        let ok = word.starts_with(|c: char| c.is_ascii_alphabetic())
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '!' | '.'))
            && !word.ends_with(|c: char| c.is_ascii_digit())
            && camel_case(word)
            && !quiet(word)
            && !camel_parts(word).iter().all(|p| quiet(p))
            && plausible_product(word, words);
        ok.then(|| word.to_string())
    };
    for (i, pair) in tokens.windows(2).enumerate() {
        // `ESMTP OpenSMTPD`, `ESMTP MailEnable ready`: the name after the keyword, where
        // nothing but a filler or a comment follows it.
        if smtp(pair[0]) {
            let end = tokens.get(i + 2).is_none_or(|w| {
                w.starts_with('(')
                    || ["ready", "service", "server"]
                        .iter()
                        .any(|f| bare(w).eq_ignore_ascii_case(f))
            });
            if let Some(n) = name(pair[1]).filter(|_| end) {
                return Some(n);
            }
        }
        if !keyword(pair[1]) {
            continue;
        }
        if i == 0 && (code == "220" && smtp(pair[1])) {
            continue;
        }
        // `<host> FTP server (Version 6.00LS) ready.`: the BSD and wu-ftpd template, whose
        // first word is the host's name, however it is written (`JohnsPC`).
        let template = tokens
            .get(i + 2)
            .is_some_and(|w| w.eq_ignore_ascii_case("server"))
            && tokens.get(i + 3).is_some_and(|w| w.starts_with('('));
        if template {
            continue;
        }
        if let Some(n) = name(pair[0]) {
            return Some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::decode::decode;

    fn words() -> &'static GenericWords {
        static WORDS: std::sync::OnceLock<GenericWords> = std::sync::OnceLock::new();
        WORDS.get_or_init(|| {
            let mut problems = Vec::new();
            let sources = crate::fingerprint::Database::shipped_sources();
            crate::fingerprint::Database::from_sources(&sources, &mut problems).generic
        })
    }

    fn id(response: &str) -> Option<(String, String, String)> {
        let d = decode(response.as_bytes());
        identify(&d, None, words()).map(|i| {
            (
                i.service,
                i.product.unwrap_or_default(),
                i.version.unwrap_or_default(),
            )
        })
    }

    fn ok(response: &str, service: &str, product: &str, version: &str) {
        assert_eq!(
            id(response),
            Some((service.into(), product.into(), version.into())),
            "{response:?}"
        );
    }

    #[test]
    fn http_server_tokens() {
        ok(
            "HTTP/1.1 200 OK\r\nServer: kangle/3.5.21.9\r\n\r\n",
            "http",
            "kangle",
            "3.5.21.9",
        );
        ok(
            "HTTP/1.1 200 OK\r\nServer: Jetty/4.0.1 (SunOS 5.8 sparc)\r\n\r\n",
            "http",
            "Jetty",
            "4.0.1",
        );
        ok(
            "HTTP/1.1 200 OK\r\nServer: Jetty(9.4.44.v20210927)\r\n\r\n",
            "http",
            "Jetty",
            "9.4.44.v20210927",
        );
        ok(
            "HTTP/1.1 200 OK\r\nServer: Linux/2.6 UPnP/1.0 Avtech/1.0\r\n\r\n",
            "http",
            "Avtech",
            "1.0",
        );
        ok(
            "HTTP/1.1 200 OK\r\nServer: TigerVNC/4.0\r\n\r\n",
            "http",
            "TigerVNC",
            "4.0",
        );
        ok(
            "HTTP/1.1 200 OK\r\nX-Powered-By: Express\r\n\r\n",
            "http",
            "Express",
            "",
        );
    }

    #[test]
    fn http_counter_examples() {
        for r in [
            "HTTP/1.1 200 OK\r\nServer: Mini web server 1.0 ZTE corp 2005.\r\n\r\n",
            "HTTP/1.1 200 OK\r\nServer: httpd\r\n\r\n",
            "HTTP/1.1 200 OK\r\nServer: www.example.com\r\n\r\n",
            "HTTP/1.1 200 OK\r\nServer: UPnP/1.0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nX-Powered-By: PHP/8.1.2\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nServer: web01\r\n\r\n",
            "HTTP/1.1 200 OK\r\nServer: ip-10-0-0-1\r\n\r\n",
        ] {
            assert_eq!(id(r), None, "{r:?}");
        }
    }

    #[test]
    fn ssh_software() {
        ok("SSH-2.0-WeOnlyDo 1.2.7\r\n", "ssh", "WeOnlyDo", "1.2.7");
        ok("SSH-2.0-AsyncSSH_2.13.0\r\n", "ssh", "AsyncSSH", "2.13.0");
        ok("SSH-2.0-ROSSSH\r\n", "ssh", "ROSSSH", "");
        ok("SSH-2.0-libssh-0.9.6\r\n", "ssh", "libssh", "0.9.6");
        ok("SSH-2.0-dropbear_2019.77.\r\n", "ssh", "dropbear", "2019.77");
        ok("SSH-2.0-conker_df6142773d 396556d9f365\r\n", "ssh", "conker", "");
        assert_eq!(id("SSH-2.0-9.99 FlowSsh: Bitvise\r\n"), None);
        assert_eq!(id("SSH-2.0-Dh-v39EVDB8f6LZ\r\n"), None);
    }

    #[test]
    fn ssh_versions_at_other_separators() {
        // `name.version`, a version glued to the name, a `v` before it.
        ok("SSH-2.0-ZTE_SSH.2.0\r\n", "ssh", "ZTE_SSH", "2.0");
        ok("SSH-2.0-FooOS5.150\r\n", "ssh", "FooOS", "5.150");
        ok("SSH-2.0-fooSSHv1.4.12\r\n", "ssh", "fooSSH", "1.4.12");
        ok("SSH-2.0-NOS-SSH_2.0\r\n", "ssh", "NOS-SSH", "2.0");
        ok("SSH-2.0-billsSSH_3.6.3q3\r\n", "ssh", "billsSSH", "3.6.3q3");
        ok("SSH-2.0-CiscoIOS_12.2XA\r\n", "ssh", "CiscoIOS", "12.2XA");
        // `Release` says "version", it names nothing.
        ok("SSH-2.0-MoTTY_Release_0.82\r\n", "ssh", "MoTTY", "0.82");
        ok("SSH-2.0-WinSCP_release_5.9.3\r\n", "ssh", "WinSCP", "5.9.3");
        // `SSH.0.1` is the protocol's name and a number, not a product.
        assert_eq!(id("SSH-1.5-SSH.0.1\r\n"), None);
        // A dotted name is not a host name when its last part is not a domain (`Gateway`).
        ok("SSH-2.0-Axway.Gateway\r\n", "ssh", "Axway.Gateway", "");
        assert_eq!(id("SSH-2.0-gw.example.com\r\n"), None);
    }

    #[test]
    fn ssh_names_that_go_on_in_the_comment() {
        ok("SSH-2.0-Mocana SSH 6.3\r\n", "ssh", "Mocana SSH", "6.3");
        ok(
            "SSH-2.0-HP Integrated Lights-Out mpSSH v1.1\r\n",
            "ssh",
            "HP Integrated Lights-Out mpSSH",
            "1.1",
        );
        ok(
            "SSH-2.0-McAfee Web Gateway SSH\r\n",
            "ssh",
            "McAfee Web Gateway SSH",
            "",
        );
        // A placeholder, a random word or a host name ends the name.
        ok("SSH-2.0-tiger xxxxxxxxxxxxxxxxxxxxxxxx\r\n", "ssh", "tiger", "");
        ok("SSH-2.0-Foo iX512l8j\r\n", "ssh", "Foo", "");
        ok("SSH-2.0-Foo gw.example.com\r\n", "ssh", "Foo", "");
        // Filler words alone still name nothing.
        assert_eq!(id("SSH-2.0-SSH Server\r\n"), None);
    }

    #[test]
    fn ssh_random_strings_are_not_products() {
        // Strings some appliances randomise per box or per connection (public router survey data).
        for r in [
            "SSH-2.0-WLH_rbHQLlDeyy\r\n",
            "SSH-2.0-b95rVonwBt\r\n",
            "SSH-2.0-OxywS4Oe4sDl\r\n",
            "SSH-2.0-t1VtSi\r\n",
            "SSH-2.0-B4I_haIvxy\r\n",
            "SSH-2.0-Li_mO3m-e_bXh-\r\n",
            "SSH-2.0-rPKx-\r\n",
            "SSH-2.0-9nroL3\r\n",
            "SSH-2.0-fAqS7ZlEM\r\n",
            "SSH-2.0-a1b2c3d4\r\n",
            "SSH-2.0-myrouter01\r\n",
        ] {
            assert_eq!(id(r), None, "{r:?}");
        }
        // Real names in CamelCase, acronyms and few vowels are still names.
        for (r, name) in [
            ("SSH-2.0-RomSShell_5.40\r\n", "RomSShell"),
            ("SSH-2.0-SilverSHielD\r\n", "SilverSHielD"),
            ("SSH-2.0-GerritCodeReview_3.4.3\r\n", "GerritCodeReview"),
            ("SSH-2.0-CrushFTPSSHD\r\n", "CrushFTPSSHD"),
            ("SSH-2.0-mpSSH_0.2.1\r\n", "mpSSH"),
            ("SSH-2.0-FxSsh\r\n", "FxSsh"),
            ("SSH-2.0-WeOnlyDo\r\n", "WeOnlyDo"),
            ("SSH-2.0-ZyXEL\r\n", "ZyXEL"),
            ("SSH-2.0-Parks\r\n", "Parks"),
            ("SSH-2.0-FreeSSHd\r\n", "FreeSSHd"),
            ("SSH-2.0-SFTPGo_2.5.4\r\n", "SFTPGo"),
            ("SSH-2.0-J2SSH_Maverick\r\n", "J2SSH_Maverick"),
            ("SSH-2.0-WeOnlyDo-wodFTPD 3.3.0.424\r\n", "WeOnlyDo-wodFTPD"),
        ] {
            assert_eq!(id(r).map(|t| t.1), Some(name.to_string()), "{r:?}");
        }
    }

    #[test]
    fn greetings() {
        ok(
            "220 foo ESMTP CommuniGate Pro 4.3.12\r\n",
            "smtp",
            "CommuniGate Pro",
            "4.3.12",
        );
        ok(
            "220 mail.example.com ESMTP Exim 4.82 Tue, 01 Jan 2019 10:00:00 +0000\r\n",
            "smtp",
            "Exim",
            "4.82",
        );
        ok(
            "220 ProFTPD 1.3.5e Server (Debian) [::ffff:10.0.0.1]\r\n",
            "ftp",
            "ProFTPD",
            "1.3.5e",
        );
        ok("220 (vsFTPd 3.0.3)\r\n", "ftp", "vsFTPd", "3.0.3");
        ok(
            "+OK Qpopper (version 4.0.5) at mail starting.\r\n",
            "pop3",
            "Qpopper",
            "4.0.5",
        );
        ok(
            "220 mail.example.com ESMTP Sendmail 8.14.4/8.14.4; Tue, 1 Jan 2019\r\n",
            "smtp",
            "Sendmail",
            "8.14.4",
        );
    }

    #[test]
    fn greeting_counter_examples() {
        for r in [
            "220 host FTP server (Version 6.00LS) ready.\r\n",
            "220 mail.example.com ESMTP ready at 2019.01.02\r\n",
            "220 Welcome to the 1.2.3.4 FTP service\r\n",
            "220 mail.example.com ESMTP [10.0.0.1]\r\n",
            "220 Microsoft ESMTP MAIL Service, Version: 6.0.3790.4675 ready\r\n",
            "+OK POP3 server ready <1234.5678@host>\r\n",
            "220 ready\r\n",
            "+OK POP3 [xxx.xxx.xxx.xxx] v2000.70 server ready\r\n",
            "220 FTP Server ready. Version 3.2\r\n",
        ] {
            assert_eq!(id(r), None, "{r:?}");
        }
    }

    #[test]
    fn shapes_beyond_the_grammar() {
        ok(
            "HTTP/1.1 200 OK\r\nServer: Web++ 1.0.1\r\n\r\n",
            "http",
            "Web++",
            "1.0.1",
        );
        ok(
            "HTTP/1.1 200 OK\r\nServer: Foo\r\nServer: Bar/2.1\r\n\r\n",
            "http",
            "Foo",
            "",
        );
        ok(
            "+OK FreePOPs/0.0.99 pop3 server ready\r\n",
            "pop3",
            "FreePOPs",
            "0.0.99",
        );
        assert_eq!(id("HTTP/1.1 200 OK\r\nServer: MinIO Console\r\n\r\n"), None);
        assert_eq!(
            id("220 mail.example.com ESMTP Postfix/2.1 is not a version here 1\r\n").map(|t| t.1),
            Some("Postfix".into())
        );
    }

    #[test]
    fn ssh_placeholders_and_random_tokens_are_not_products() {
        for r in [
            "SSH-2.0-xxxxxxx\r\n",
            "SSH-2.0-XXXX\r\n",
            "SSH-2.0-Nz0V5W3\r\n",
            "SSH-2.0-SshServer\r\n",
            "SSH-2.0-SSH_Server\r\n",
        ] {
            assert_eq!(id(r), None, "{r:?}");
        }
        ok("SSH-2.0-FortiSSH_x.x\r\n", "ssh", "FortiSSH", "");
        ok("SSH-2.0-JSCH-0.1.54\r\n", "ssh", "JSCH", "0.1.54");
    }

    #[test]
    fn greeting_version_shapes() {
        // `Version 3.0.0.9` reads like an address, but the word says it is a version.
        ok(
            "+OK Welcome to the MailUtl3 Version 3.0.0.9\r\n",
            "pop3",
            "MailUtl3",
            "3.0.0.9",
        );
        // `Product Service, Version: x`: the comma before `Version:` does not end the name.
        ok(
            "220 mail.example.com ESMTP MailEnable Service, Version: 10.23-- ready at 01/02/21 10:00:00\r\n",
            "smtp",
            "MailEnable",
            "10.23",
        );
        for r in [
            // An APOP timestamp (RFC 1939 §7) is not a version, the word before it no product.
            "+OK JPOP server ready (jpop39) <1043272.1173961152724@ActualPOP3Server>\r\n",
            "+OK mail.test POP3 ready <F201706231210.AA102635MD1932@mail.test>\r\n",
            // UW's `POP3 <host> v<version>`: the host is no product.
            "+OK POP3 mailhost v2003.83 server ready\r\n",
            // `port` qualifies the version; it names nothing.
            "220 host FTP server (Version 6.5/OpenBSD, linux port 0.3.2) ready.\r\n",
            // An address without the word `Version` stays an address.
            "220 Welcome to 10.1.2.3 FTP service\r\n",
            // IBM's `V2R3` is a version the generic reader cannot split; silent, not `2R3`.
            "220-FTPD1 IBM FTP CS V2R3 at mysite.gov, 16:51:54 on 2020-01-01.\r\n220 Connection will close if idle for more than 5 minutes.\r\n",
        ] {
            assert_eq!(id(r), None, "{r:?}");
        }
    }

    #[test]
    fn ftp_greetings_start_with_the_name() {
        ok(
            "220 Core FTP Server Version 2.2, build 1785 Registered\r\n",
            "ftp",
            "Core FTP Server",
            "2.2",
        );
        for r in [
            // The BSD template names the host, whatever its words.
            "220 FTP Utility FTP server (Version 1.00) ready.\r\n",
            // POP3 and SMTP greetings put the host first.
            "+OK Mailhost POP3 v2003.83 server ready\r\n",
            "220 Mailhost SMTP Server 1.0 ready\r\n",
            // Filler and lower-case first words are not names.
            "220 Private FTP Server 2.0 ready\r\n",
            "220 myhost FTP Server 2.0 ready\r\n",
        ] {
            assert_eq!(id(r), None, "{r:?}");
        }
    }

    #[test]
    fn greeting_names_without_version() {
        ok(
            "+OK INetSim POP3 Server ready <28.1610105246@snailmailreadyforaction>\r\n",
            "pop3",
            "INetSim",
            "",
        );
        ok(
            "* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ApexMail IMAP4rev1 server ready\r\n",
            "imap",
            "ApexMail",
            "",
        );
        ok("220 DiskStation FTP server ready.\r\n", "ftp", "DiskStation", "");
        ok(
            "220 mail.example.com ESMTP OpenSMTPD\r\n",
            "smtp",
            "OpenSMTPD",
            "",
        );
        ok(
            "220 mx.example.org MDaemon ESMTP ready\r\n",
            "smtp",
            "MDaemon",
            "",
        );
        for r in [
            // Names people give their own machines: filler parts only.
            "220 MyServer FTP server ready.\r\n",
            "220 JohnsPC FTP server (Version 6.00LS) ready.\r\n",
            "220 mx.example.com FileServer ESMTP ready\r\n",
            // Capitalised words, not product names.
            "220 Anonymous FTP server ready.\r\n",
            "+OK Welcome POP3 server ready\r\n",
            "220 ADAM2 FTP Server ready.\r\n",
            // Host names: digits at the end, or the first word of an SMTP greeting.
            "* OK mwinf2j04 IMAP4 server ready\r\n",
            "220 MailHost ESMTP Service ready\r\n",
            "220 mail.example.com ESMTP ready\r\n",
            "* OK IMAP4rev1 Service Ready\r\n",
            // After `ESMTP`: only a name that ends the greeting or is followed by a filler.
            "220 mail.example.com ESMTP MyMailServer ready\r\n",
            "220 mail.example.com ESMTP SpamAssassin checks every message here\r\n",
            "220 mail.example.com ESMTP Postfix\r\n",
        ] {
            assert_eq!(id(r), None, "{r:?}");
        }
    }

    #[test]
    fn http_product_words() {
        for (server, product, version) in [
            ("Apache Tomcat/7.0.47", "Apache Tomcat", "7.0.47"),
            (
                "Websphere Application Server/6.1",
                "Websphere Application Server",
                "6.1",
            ),
            ("Cisco AWARE 2.0", "Cisco AWARE", "2.0"),
            ("Hiawatha v10.11", "Hiawatha", "10.11"),
            ("uc-httpd 1.0.0", "uc-httpd", "1.0.0"),
            (
                "GlassFish Server Open Source Edition  4.1.1",
                "GlassFish Server Open Source Edition",
                "4.1.1",
            ),
            (
                "Zope/(2.13.22, python 2.7.6, linux2) ZServer/1.1",
                "Zope",
                "2.13.22",
            ),
        ] {
            let r = format!("HTTP/1.1 200 OK\r\nServer: {server}\r\n\r\n");
            ok(&r, "http", product, version);
        }
        for server in [
            // Words that describe, not name.
            "Embedded HTTP Server 1.0",
            "Private Web Server 1.0",
            // Prose around a product: the version is not where a product's would be.
            "Oracle HTTP Server Powered by Apache/1.3.19 (Unix)",
            "WebLogic Server 8.1 SP4 Mon Dec 20 23:27:22 PST 2004 47193",
            "SAP NetWeaver Application Server 7.45 / AS Java 7.50",
            "Linux UPnP/1.0 Foo/1.0",
        ] {
            let r = format!("HTTP/1.1 200 OK\r\nServer: {server}\r\n\r\n");
            assert_eq!(id(&r), None, "{r:?}");
        }
    }
}
