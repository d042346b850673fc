//! Response decoders: split a response once into named fields (`http.header.server`,
//! `ssh.software`, `greeting.text` …) so rules and generic identification read fields, not raw
//! bytes. Decoders know wire formats only; what values mean is the rules' business. They never
//! panic and allocate only for values they must rebuild (joined lines, collapsed titles).

use std::borrow::Cow;

use super::binary::Fields;

/// Which grammar a response was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// An HTTP/1.x (or HTTP/2 text) status line and a header block.
    Http,
    /// An SSH identification string (RFC 4253 §4.2).
    Ssh,
    /// A line protocol's first reply: `NNN text`, `+OK`/`-ERR`, `* OK`.
    Greeting,
    /// SMB2/3 over TCP: NEGOTIATE and SESSION_SETUP responses (NTLMSSP challenge inside).
    Smb,
    /// MS-TDS PRELOGIN response (Microsoft SQL Server, Sybase).
    Mssql,
    /// LDAPv3 responses (BER).
    Ldap,
    /// RFB (VNC) version line and security types.
    Rfb,
    /// X11 connection setup reply.
    X11,
    /// MongoDB OP_MSG / OP_REPLY with a BSON document.
    Mongodb,
    /// MySQL/MariaDB server handshake v10 or error packet.
    Mysql,
    /// NetBIOS name service node status answer (UDP).
    Netbios,
    /// STUN binding response (UDP).
    Stun,
    /// SNMP response or v3 Report (UDP).
    Snmp,
    /// NTP mode 4 answer or mode 6 control response (UDP).
    Ntp,
    /// RDP: X.224 Connection Confirm with the negotiation response or failure.
    Rdp,
    /// Kerberos V5 over TCP: KRB-ERROR or AS-REP.
    Kerberos,
    /// DNS over TCP: responses (CHAOS TXT version.bind / version.server).
    Dns,
    /// DCE/RPC connection-oriented answers: bind_ack, bind_nak, fault.
    Dcerpc,
    /// Oracle TNS: the listener's ACCEPT, REFUSE, REDIRECT or RESEND.
    Tns,
    /// AMQP Connection.Start (0-9-1) or a protocol header (1.0, 0-8).
    Amqp,
    /// Kafka ApiVersions response (version 0).
    Kafka,
    /// Cassandra CQL native protocol SUPPORTED or ERROR frame.
    Cql,
    /// ONC RPC reply over TCP: the port mapper's DUMP list, or a refusal.
    Rpc,
    /// ActiveMQ OpenWire WireFormatInfo.
    Openwire,
    /// Modbus/TCP: Read Device Identification response or an exception.
    Modbus,
    /// Siemens S7comm over ISO-on-TCP: COTP connection confirm, setup, SZL reads.
    S7,
    /// EtherNet/IP encapsulation: ListIdentity reply.
    Enip,
    /// DNP3 data link frame.
    Dnp3,
    /// Java Debug Wire Protocol handshake and reply.
    Jdwp,
    /// Java RMI (JRMP) ProtocolAck.
    Jrmi,
    /// BACnet/IP: an answer to a confirmed request (UDP).
    Bacnet,
    /// Nothing recognised: rules read raw bytes.
    Raw,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Ssh => "ssh",
            Protocol::Greeting => "greeting",
            Protocol::Smb => "smb",
            Protocol::Mssql => "mssql",
            Protocol::Ldap => "ldap",
            Protocol::Rfb => "rfb",
            Protocol::X11 => "x11",
            Protocol::Mongodb => "mongodb",
            Protocol::Mysql => "mysql",
            Protocol::Netbios => "netbios",
            Protocol::Stun => "stun",
            Protocol::Snmp => "snmp",
            Protocol::Ntp => "ntp",
            Protocol::Rdp => "rdp",
            Protocol::Kerberos => "kerberos",
            Protocol::Dns => "dns",
            Protocol::Dcerpc => "dcerpc",
            Protocol::Tns => "tns",
            Protocol::Amqp => "amqp",
            Protocol::Kafka => "kafka",
            Protocol::Cql => "cql",
            Protocol::Rpc => "rpc",
            Protocol::Openwire => "openwire",
            Protocol::Modbus => "modbus",
            Protocol::S7 => "s7",
            Protocol::Enip => "enip",
            Protocol::Dnp3 => "dnp3",
            Protocol::Jdwp => "jdwp",
            Protocol::Jrmi => "rmi",
            Protocol::Bacnet => "bacnet",
            Protocol::Raw => "raw",
        }
    }

    /// Every grammar, `Raw` first.
    pub const ALL: [Protocol; 32] = [
        Protocol::Raw,
        Protocol::Http,
        Protocol::Ssh,
        Protocol::Greeting,
        Protocol::Smb,
        Protocol::Mssql,
        Protocol::Ldap,
        Protocol::Rfb,
        Protocol::X11,
        Protocol::Mongodb,
        Protocol::Mysql,
        Protocol::Netbios,
        Protocol::Stun,
        Protocol::Snmp,
        Protocol::Ntp,
        Protocol::Rdp,
        Protocol::Kerberos,
        Protocol::Dns,
        Protocol::Dcerpc,
        Protocol::Tns,
        Protocol::Amqp,
        Protocol::Kafka,
        Protocol::Cql,
        Protocol::Rpc,
        Protocol::Openwire,
        Protocol::Modbus,
        Protocol::S7,
        Protocol::Enip,
        Protocol::Dnp3,
        Protocol::Jdwp,
        Protocol::Jrmi,
        Protocol::Bacnet,
    ];

    /// This grammar's position in [`Protocol::ALL`].
    pub fn index(self) -> usize {
        Protocol::ALL.iter().position(|&p| p == self).unwrap_or(0)
    }
}

/// Field names a decoder can produce, besides `http.header.NAME` (any header name).
pub const FIELDS: &[&str] = &[
    "http.version",
    "http.status",
    "http.reason",
    "http.realm",
    "http.cookies",
    "http.title",
    "http.body",
    "ssh.protocol",
    "ssh.software",
    "ssh.comment",
    "greeting.code",
    "greeting.text",
    // SMB2/3 (binary::smb) and the NTLMSSP challenge (binary::ntlm)
    "smb.dialect",
    "smb.signing",
    "smb.server_guid",
    "smb.capabilities",
    "smb.session_status",
    "ntlm.os_version",
    "ntlm.revision",
    "ntlm.target_name",
    "ntlm.netbios_computer",
    "ntlm.netbios_domain",
    "ntlm.dns_computer",
    "ntlm.dns_domain",
    "ntlm.dns_tree",
    // MS-TDS (binary::tds)
    "mssql.version",
    "mssql.subbuild",
    "mssql.encryption",
    // LDAP (binary::ldap)
    "ldap.vendor_name",
    "ldap.vendor_version",
    "ldap.naming_contexts",
    "ldap.supported_ldap_version",
    "ldap.domain_functionality",
    "ldap.forest_functionality",
    "ldap.dc_functionality",
    "ldap.object_class",
    "ldap.dns_host_name",
    "ldap.default_naming_context",
    "ldap.server_name",
    "ldap.result_code",
    "ldap.diagnostic",
    // RFB (binary::rfb)
    "rfb.version",
    "rfb.security_types",
    "rfb.error",
    // X11 (binary::x11)
    "x11.protocol",
    "x11.status",
    "x11.release",
    "x11.vendor",
    "x11.reason",
    // MongoDB (binary::mongodb)
    "mongodb.version",
    "mongodb.git_version",
    "mongodb.allocator",
    "mongodb.errmsg",
    "mongodb.code_name",
    "mongodb.ok",
    "mongodb.max_wire_version",
    // MySQL/MariaDB (binary::mysql)
    "mysql.protocol",
    "mysql.version",
    "mysql.auth_plugin",
    "mysql.error_code",
    "mysql.error",
    // UDP answers (binary::netbios, stun, snmp, dns, ntp)
    "netbios.names",
    "netbios.computer",
    "netbios.workgroup",
    "netbios.mac",
    "stun.class",
    "stun.software",
    "stun.error_code",
    "snmp.version",
    "snmp.community",
    "snmp.error_status",
    "snmp.sysdescr",
    "snmp.oid",
    "snmp.engine_id",
    "snmp.engine_enterprise",
    "snmp.engine_boots",
    "snmp.engine_time",
    "ntp.version",
    "ntp.mode",
    "ntp.stratum",
    "ntp.refid",
    "ntp.error",
    "ntp.vars",
    // RDP (binary::rdp)
    "rdp.source_ref",
    "rdp.negotiation",
    "rdp.selected_protocol",
    "rdp.flags",
    "rdp.failure_code",
    // Kerberos (binary::kerberos)
    "krb.msg_type",
    "krb.error_code",
    "krb.error_name",
    "krb.server_time",
    "krb.realm",
    "krb.sname",
    "krb.error_text",
    // DNS over TCP (binary::dns)
    "dns.rcode",
    "dns.flags",
    "dns.ttl",
    "dns.authority_soa",
    "dns.version_bind",
    "dns.version_bind_rcode",
    "dns.version_server",
    "dns.version_server_rcode",
    "dns.txt",
    "dns.txt_rcode",
    "dns.ptr",
    // DCE/RPC (binary::dcerpc)
    "dcerpc.version",
    "dcerpc.ptype",
    "dcerpc.max_xmit",
    "dcerpc.max_recv",
    "dcerpc.assoc_group",
    "dcerpc.secondary_address",
    "dcerpc.transfer_syntax",
    "dcerpc.bind_time_features",
    "dcerpc.results",
    "dcerpc.reject_reason",
    "dcerpc.fault_status",
    // Oracle TNS (binary::tns)
    "tns.packet_type",
    "tns.resend",
    "tns.version",
    "tns.data",
    "tns.error",
    "tns.vsnnum",
    "tns.oracle_version",
    // AMQP (binary::amqp)
    "amqp.protocol",
    "amqp.product",
    "amqp.version",
    "amqp.platform",
    "amqp.cluster_name",
    "amqp.copyright",
    "amqp.mechanisms",
    // Kafka (binary::kafka)
    "kafka.error_code",
    "kafka.api_count",
    "kafka.highest_api_key",
    "kafka.api_versions_max",
    "kafka.metadata_max",
    "kafka.fetch_max",
    "kafka.produce_max",
    // Cassandra CQL (binary::cql)
    "cql.protocol",
    "cql.versions",
    "cql.compression",
    "cql.protocol_versions",
    "cql.options",
    "cql.error_code",
    "cql.error",
    // ONC RPC port mapper (binary::rpc)
    "rpc.reply",
    "rpc.error",
    "rpc.count",
    "rpc.programs",
    "rpc.portmapper_versions",
    "rpc.program_names",
    // ActiveMQ OpenWire (binary::openwire)
    "openwire.version",
    "openwire.provider_name",
    "openwire.provider_version",
    "openwire.platform_details",
    "openwire.options",
    // Modbus/TCP (binary::modbus)
    "modbus.unit",
    "modbus.vendor",
    "modbus.product_code",
    "modbus.revision",
    "modbus.vendor_url",
    "modbus.product_name",
    "modbus.model_name",
    "modbus.conformity",
    "modbus.exception",
    // Siemens S7comm (binary::s7)
    "s7.cotp",
    "s7.pdu_size",
    "s7.error",
    "s7.order_number",
    "s7.module_version",
    "s7.firmware",
    "s7.system_name",
    "s7.module_name",
    "s7.plant_id",
    "s7.copyright",
    "s7.serial",
    "s7.module_type",
    // EtherNet/IP (binary::enip)
    "enip.vendor_id",
    "enip.vendor",
    "enip.device_type",
    "enip.product_code",
    "enip.revision",
    "enip.serial",
    "enip.product_name",
    "enip.status",
    "enip.address",
    // DNP3 (binary::dnp3)
    "dnp3.function",
    "dnp3.direction",
    "dnp3.source",
    "dnp3.destination",
    // JDWP (binary::jdwp)
    "jdwp.handshake",
    "jdwp.error",
    "jdwp.description",
    "jdwp.version",
    "jdwp.vm_version",
    "jdwp.vm_name",
    // Java RMI (binary::jrmi)
    "rmi.client_host",
    "rmi.client_port",
    // BACnet/IP (binary::bacnet)
    "bacnet.apdu",
    "bacnet.instance",
    "bacnet.vendor_name",
    "bacnet.model_name",
    "bacnet.firmware",
    "bacnet.software_version",
    "bacnet.object_name",
    "bacnet.error",
    "bacnet.reason",
];

/// The prefix of per-header fields.
pub const HEADER_PREFIX: &str = "http.header.";

/// Joins the fields of a joined name (`x11.vendor+x11.release`): a rule that needs two values
/// of one answer (a vendor and its release number) reads them as one, separated by LF.
pub const JOIN: char = '+';

/// Whether `name` is a field some decoder produces (for `fingerprints check`), or a join of
/// fixed fields.
pub fn is_known_field(name: &str) -> bool {
    if name.contains(JOIN) {
        return name.split(JOIN).count() <= 4 && name.split(JOIN).all(is_single_field);
    }
    is_single_field(name)
}

/// A fixed field, or `http.header.NAME` with NAME in lower case.
fn is_single_field(name: &str) -> bool {
    FIELDS.contains(&name)
        || name.strip_prefix(HEADER_PREFIX).is_some_and(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        })
}

/// What fields there are, for a message about an unknown field `name`: the fields of its
/// grammar (the part before the first dot), else the grammars.
pub fn field_hint(name: &str) -> String {
    let grammar = name.split(JOIN).find(|p| !is_known_field(p)).unwrap_or(name);
    let prefix = grammar.split('.').next().unwrap_or_default();
    let same: Vec<&str> = FIELDS
        .iter()
        .copied()
        .filter(|f| f.split('.').next() == Some(prefix))
        .collect();
    let headers = ", or http.header.NAME in lower case";
    match (same.is_empty(), prefix == "http") {
        (false, true) => format!("{}{headers}", same.join(", ")),
        (false, false) => same.join(", "),
        (true, _) => {
            let mut grammars: Vec<&str> = FIELDS.iter().filter_map(|f| f.split('.').next()).collect();
            grammars.dedup();
            format!(
                "fields are named GRAMMAR.NAME, GRAMMAR one of {}; http.header.NAME in lower case; A+B joins fields",
                grammars.join(", ")
            )
        }
    }
}

/// A field's name: a fixed one, or a header's name as it came on the wire.
#[derive(Debug, Clone)]
enum Name<'a> {
    Fixed(&'static str),
    Header(&'a [u8]),
}

impl Name<'_> {
    fn is(&self, name: &str) -> bool {
        match self {
            Name::Fixed(n) => *n == name,
            Name::Header(h) => name
                .strip_prefix(HEADER_PREFIX)
                .is_some_and(|want| want.as_bytes().eq_ignore_ascii_case(h)),
        }
    }

    fn text(&self) -> String {
        match self {
            Name::Fixed(n) => n.to_string(),
            Name::Header(h) => format!(
                "{HEADER_PREFIX}{}",
                String::from_utf8_lossy(h).to_ascii_lowercase()
            ),
        }
    }
}

/// A field's name as [`Decoded::entries`] gives it.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    Fixed(&'static str),
    /// A header's name as sent (any case); its field is `http.header.` + the name lower-cased.
    Header(&'a [u8]),
}

/// A response split into fields.
#[derive(Debug, Clone)]
pub struct Decoded<'a> {
    pub protocol: Protocol,
    fields: Vec<(Name<'a>, Cow<'a, [u8]>)>,
}

impl<'a> Decoded<'a> {
    /// The value of a field, if the decoder produced it.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n.is(name))
            .map(|(_, v)| v.as_ref())
    }

    /// The value of a joined name (`a+b`): each part's value, separated by LF; `None` unless
    /// every part is present.
    pub fn joined(&self, name: &str) -> Option<Vec<u8>> {
        let parts: Vec<&str> = name.split(JOIN).collect();
        self.joined_parts(&parts)
    }

    /// [`Decoded::joined`] of a name already split into its parts.
    pub fn joined_parts(&self, parts: &[impl AsRef<str>]) -> Option<Vec<u8>> {
        // Most responses lack the parts (they are of another grammar): no allocation then.
        let values: Vec<&[u8]> = parts
            .iter()
            .map(|part| self.get(part.as_ref()))
            .collect::<Option<_>>()?;
        Some(values.join(&b'\n'))
    }

    /// Every field, named without allocating: a fixed name, or a header's name as sent.
    pub fn entries(&self) -> impl Iterator<Item = (Key<'_>, &[u8])> {
        self.fields.iter().map(|(n, v)| {
            let key = match n {
                Name::Fixed(f) => Key::Fixed(f),
                Name::Header(h) => Key::Header(h),
            };
            (key, v.as_ref())
        })
    }

    /// Every field with its name, in the order the decoder found them.
    pub fn fields(&self) -> Vec<(String, &[u8])> {
        self.fields.iter().map(|(n, v)| (n.text(), v.as_ref())).collect()
    }

    fn push(&mut self, name: &'static str, value: impl Into<Cow<'a, [u8]>>) {
        self.fields.push((Name::Fixed(name), value.into()));
    }
}

/// Splits a response into fields by the first grammar that fits it.
pub fn decode(response: &[u8]) -> Decoded<'_> {
    let mut d = Decoded {
        protocol: Protocol::Raw,
        fields: Vec::new(),
    };
    if response.starts_with(b"HTTP/") {
        http(response, &mut d);
    } else if response.starts_with(b"SSH-") || find(response, b"\nSSH-").is_some() {
        ssh(response, &mut d);
    } else if let Some((protocol, fields)) = binary(response) {
        d.protocol = protocol;
        for (name, value) in fields {
            d.push(name, value);
        }
    } else {
        greeting(response, &mut d);
    }
    d
}

/// The binary grammars, each recognised by its own framing and magic (decoders do not know
/// which probe was sent). Stricter checks first.
fn binary(response: &[u8]) -> Option<(Protocol, Fields)> {
    type Decoder = fn(&[u8]) -> Option<Fields>;
    const DECODERS: [(Protocol, Decoder); 28] = [
        (Protocol::Rfb, super::binary::rfb::decode),
        // Before RDP: both answer a COTP connection request with a connection confirm.
        (Protocol::S7, super::binary::s7::decode),
        (Protocol::Smb, super::binary::smb::decode),
        (Protocol::Mongodb, super::binary::mongodb::decode),
        (Protocol::Amqp, super::binary::amqp::decode),
        (Protocol::Kafka, super::binary::kafka::decode),
        (Protocol::Cql, super::binary::cql::decode),
        (Protocol::Mssql, super::binary::tds::decode),
        (Protocol::Ldap, super::binary::ldap::decode),
        (Protocol::X11, super::binary::x11::decode),
        (Protocol::Mysql, super::binary::mysql::decode),
        (Protocol::Rdp, super::binary::rdp::decode),
        (Protocol::Kerberos, super::binary::kerberos::decode),
        (Protocol::Dcerpc, super::binary::dcerpc::decode),
        (Protocol::Tns, super::binary::tns::decode),
        (Protocol::Openwire, super::binary::openwire::decode),
        (Protocol::Enip, super::binary::enip::decode),
        (Protocol::Modbus, super::binary::modbus::decode),
        (Protocol::Rpc, super::binary::rpc::decode),
        (Protocol::Dnp3, super::binary::dnp3::decode),
        (Protocol::Jdwp, super::binary::jdwp::decode),
        (Protocol::Jrmi, super::binary::jrmi::decode),
        // UDP answers; NetBIOS before DNS (a node status answer is DNS-shaped).
        (Protocol::Netbios, super::binary::netbios::decode),
        (Protocol::Stun, super::binary::stun::decode),
        (Protocol::Snmp, super::binary::snmp::decode),
        // BVLC type 0x81 and a length that is the whole datagram.
        (Protocol::Bacnet, super::binary::bacnet::decode),
        // Late: a DNS header has no magic, only its length and flags.
        (Protocol::Dns, super::binary::dns::decode),
        // Last: NTP's framing is the loosest.
        (Protocol::Ntp, super::binary::ntp::decode),
    ];
    DECODERS
        .iter()
        .find_map(|(p, decode)| decode(response).map(|f| (*p, f)))
}

fn trim(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if first.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = b {
        if last.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    b
}

/// Lines of `b` split at LF, each without its CR.
fn lines(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether `response` is an HTTP/1.x answer still arriving: its header not yet ended, or its
/// body shorter than its Content-Length. A server that writes the header and the body apart
/// (Python's wsgiref under load) would otherwise be judged on its header alone, and a rule for
/// its `Server` would win over the rule that reads its page.
pub fn http_awaits_more(response: &[u8]) -> bool {
    if !response.starts_with(b"HTTP/") {
        return false;
    }
    let Some((head, body)) = find(response, b"\r\n\r\n")
        .map(|i| (&response[..i], &response[i + 4..]))
        .or_else(|| find(response, b"\n\n").map(|i| (&response[..i], &response[i + 2..])))
    else {
        return true;
    };
    let length = lines(head).skip(1).find_map(|line| {
        let (name, value) = line.split_at(line.iter().position(|&c| c == b':')?);
        name.eq_ignore_ascii_case(b"content-length")
            .then(|| {
                std::str::from_utf8(&value[1..])
                    .ok()?
                    .trim()
                    .parse::<usize>()
                    .ok()
            })
            .flatten()
    });
    length.is_some_and(|n| body.len() < n)
}

/// Most header lines read; a response with more keeps the first ones.
const MAX_HEADERS: usize = 200;

/// HTTP/1.x status line and headers (RFC 9112 §4, §5); the body as it came.
fn http<'a>(response: &'a [u8], d: &mut Decoded<'a>) {
    let (head, body) = match find(response, b"\r\n\r\n") {
        Some(i) => (&response[..i], Some(&response[i + 4..])),
        None => match find(response, b"\n\n") {
            Some(i) => (&response[..i], Some(&response[i + 2..])),
            None => (response, None),
        },
    };
    let mut it = lines(head);
    let Some(status) = it.next() else { return };
    // HTTP-version SP status-code SP [reason-phrase]
    let mut parts = status.splitn(3, |&c| c == b' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    let Some(version) = version.strip_prefix(b"HTTP/") else {
        return;
    };
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return;
    }
    let reason = parts.next().unwrap_or_default();
    d.protocol = Protocol::Http;
    d.push("http.version", version);
    d.push("http.status", code);
    d.push("http.reason", trim(reason));
    let mut realm = None;
    let mut cookies: Vec<u8> = Vec::new();
    for line in it.take(MAX_HEADERS) {
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let name = trim(&line[..colon]);
        if name.is_empty() || !name.iter().all(|c| c.is_ascii_graphic()) {
            continue;
        }
        let value = trim(&line[colon + 1..]);
        if realm.is_none() && name.eq_ignore_ascii_case(b"www-authenticate") {
            realm = realm_of(value);
        }
        if name.eq_ignore_ascii_case(b"set-cookie") {
            let cookie = trim(value.split(|&c| c == b'=').next().unwrap_or_default());
            if !cookie.is_empty() && !cookie.contains(&b';') {
                if !cookies.is_empty() {
                    cookies.push(b' ');
                }
                cookies.extend_from_slice(cookie);
            }
        }
        let same = d
            .fields
            .iter_mut()
            .find(|(n, _)| matches!(n, Name::Header(h) if h.eq_ignore_ascii_case(name)));
        match same {
            Some((_, v)) => {
                let v = v.to_mut();
                v.push(b'\n');
                v.extend_from_slice(value);
            }
            None => d.fields.push((Name::Header(name), Cow::Borrowed(value))),
        }
    }
    if let Some(realm) = realm {
        d.push("http.realm", realm);
    }
    if !cookies.is_empty() {
        d.push("http.cookies", cookies);
    }
    if let Some(body) = body {
        if let Some(title) = title_of(body) {
            d.push("http.title", title);
        }
        d.push("http.body", body);
    }
}

/// `realm="…"` (or an unquoted token) of a WWW-Authenticate value.
fn realm_of(value: &[u8]) -> Option<&[u8]> {
    let at = find_ci(value, b"realm=")? + 6;
    let rest = &value[at..];
    let realm = if let Some(quoted) = rest.strip_prefix(b"\"") {
        let end = quoted.iter().position(|&c| c == b'"').unwrap_or(quoted.len());
        &quoted[..end]
    } else {
        let end = rest
            .iter()
            .position(|&c| c == b',' || c == b' ' || c == b'\n')
            .unwrap_or(rest.len());
        &rest[..end]
    };
    Some(realm)
}

/// The first `<title>` of an HTML body, whitespace collapsed.
fn title_of(body: &[u8]) -> Option<Vec<u8>> {
    let start = find_ci(body, b"<title")?;
    let open_end = start + body[start..].iter().position(|&c| c == b'>')? + 1;
    let len = find_ci(&body[open_end..], b"</title").unwrap_or(body.len() - open_end);
    let raw = &body[open_end..open_end + len.min(4096)];
    let mut out = Vec::with_capacity(raw.len());
    for word in raw.split(|c| c.is_ascii_whitespace()).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(word);
    }
    Some(out)
}

/// `SSH-protoversion-softwareversion SP comments`, possibly after other lines (RFC 4253 §4.2
/// lets a server send lines before the identification string).
fn ssh<'a>(response: &'a [u8], d: &mut Decoded<'a>) {
    let Some(line) = lines(response).find(|l| l.starts_with(b"SSH-")) else {
        return;
    };
    let rest = &line[4..];
    let Some(dash) = rest.iter().position(|&c| c == b'-') else {
        return;
    };
    let proto = &rest[..dash];
    if proto.is_empty() || !proto.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
        return;
    }
    let after = &rest[dash + 1..];
    let (software, comment) = match after.iter().position(|&c| c == b' ') {
        Some(sp) => (&after[..sp], Some(trim(&after[sp + 1..]))),
        None => (after, None),
    };
    d.protocol = Protocol::Ssh;
    d.push("ssh.protocol", proto);
    d.push("ssh.software", software);
    if let Some(c) = comment.filter(|c| !c.is_empty()) {
        d.push("ssh.comment", c);
    }
}

/// The reply code of a greeting line and the text after it.
fn reply_code(line: &[u8]) -> Option<(&[u8], &[u8], bool)> {
    // NNN SP text / NNN-text (RFC 5321 §4.2, RFC 959 §4.2); NNN alone.
    if line.len() >= 3 && line[..3].iter().all(u8::is_ascii_digit) && (b'1'..=b'5').contains(&line[0]) {
        return match line.get(3) {
            None => Some((&line[..3], b"", false)),
            Some(b' ') => Some((&line[..3], &line[4..], false)),
            Some(b'-') => Some((&line[..3], &line[4..], true)),
            _ => None,
        };
    }
    for code in [&b"+OK"[..], b"-ERR", b"* OK", b"* PREAUTH", b"* BYE"] {
        if let Some(rest) = line.strip_prefix(code) {
            return match rest.first() {
                None => Some((code, b"", false)),
                Some(b' ') => Some((code, &rest[1..], false)),
                _ => None,
            };
        }
    }
    None
}

/// A line protocol's first reply: `greeting.code` and `greeting.text` (continuation lines of a
/// multi-line reply joined by LF).
fn greeting<'a>(response: &'a [u8], d: &mut Decoded<'a>) {
    let mut it = lines(response);
    let Some(first) = it.next() else { return };
    let Some((code, text, mut more)) = reply_code(first) else {
        return;
    };
    if text.iter().any(|&c| c < 0x09 || c == 0x7f) || code.is_empty() {
        return;
    }
    if !more {
        d.protocol = Protocol::Greeting;
        d.push("greeting.code", code);
        d.push("greeting.text", text);
        return;
    }
    let mut joined = text.to_vec();
    let mut count = 0;
    while more && count < 100 {
        count += 1;
        let Some(line) = it.next() else { break };
        match reply_code(line) {
            Some((c, t, m)) if c == code => {
                joined.push(b'\n');
                joined.extend_from_slice(t);
                more = m;
            }
            // RFC 959 lets continuation lines carry any text until the closing `NNN `.
            _ => {
                joined.push(b'\n');
                joined.extend_from_slice(line);
            }
        }
    }
    d.protocol = Protocol::Greeting;
    d.push("greeting.code", code);
    d.push("greeting.text", joined);
}

#[cfg(test)]
mod tests {
    use super::http_awaits_more;

    #[test]
    fn an_http_answer_awaits_its_header_end_and_its_declared_body() {
        assert!(http_awaits_more(b"HTTP/1.0 200 OK\r\nServer: WSGIServer/0.2\r\n"));
        assert!(http_awaits_more(
            b"HTTP/1.0 200 OK\r\nContent-Length: 10\r\nServer: x\r\n\r\n<html>"
        ));
        assert!(!http_awaits_more(
            b"HTTP/1.0 200 OK\r\ncontent-length: 6\r\n\r\n<html>"
        ));
        // No length: the body ends when the server closes; nothing to wait for.
        assert!(!http_awaits_more(b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\n<ht"));
        assert!(!http_awaits_more(b"SSH-2.0-OpenSSH_9.2\r\n"));
        assert!(!http_awaits_more(
            b"HTTP/1.1 200 OK\r\nContent-Length: junk\r\n\r\n"
        ));
    }

    use super::*;

    fn field<'a>(d: &'a Decoded, name: &str) -> Option<&'a str> {
        d.get(name).map(|v| std::str::from_utf8(v).unwrap_or("<binary>"))
    }

    #[test]
    fn http_fields() {
        let r = b"HTTP/1.1 401 Unauthorized\r\nServer: Boa/0.94.14rc21\r\nWWW-Authenticate: Basic realm=\"DCS-932L\"\r\nSet-Cookie: a=1; path=/\r\nset-cookie: SID=2\r\nX-Test: one\r\nX-Test: two\r\n\r\n<html><head><title>\n  Login   page\n</title></head>";
        let d = decode(r);
        assert_eq!(d.protocol, Protocol::Http);
        assert_eq!(field(&d, "http.status"), Some("401"));
        assert_eq!(field(&d, "http.reason"), Some("Unauthorized"));
        assert_eq!(field(&d, "http.version"), Some("1.1"));
        assert_eq!(field(&d, "http.header.server"), Some("Boa/0.94.14rc21"));
        assert_eq!(field(&d, "http.realm"), Some("DCS-932L"));
        assert_eq!(field(&d, "http.cookies"), Some("a SID"));
        assert_eq!(field(&d, "http.header.x-test"), Some("one\ntwo"));
        assert_eq!(field(&d, "http.title"), Some("Login page"));
        assert!(d.get("http.body").is_some_and(|b| b.starts_with(b"<html>")));
    }

    #[test]
    fn http_needs_a_status_code() {
        assert_eq!(decode(b"HTTP/1.1 OK\r\n\r\n").protocol, Protocol::Raw);
        assert_eq!(decode(b"HTTP/").protocol, Protocol::Raw);
    }

    #[test]
    fn ssh_fields() {
        let d = decode(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n");
        assert_eq!(d.protocol, Protocol::Ssh);
        assert_eq!(field(&d, "ssh.protocol"), Some("2.0"));
        assert_eq!(field(&d, "ssh.software"), Some("OpenSSH_9.2p1"));
        assert_eq!(field(&d, "ssh.comment"), Some("Debian-2+deb12u10"));
        let d = decode(b"Welcome\r\nSSH-1.99-Cisco-1.25\n");
        assert_eq!(field(&d, "ssh.software"), Some("Cisco-1.25"));
        assert_eq!(d.get("ssh.comment"), None);
    }

    #[test]
    fn greeting_fields() {
        let d = decode(b"220-FileZilla Server 1.7.0\r\n220-Please visit\r\n220 ok\r\n");
        assert_eq!(d.protocol, Protocol::Greeting);
        assert_eq!(field(&d, "greeting.code"), Some("220"));
        assert_eq!(
            field(&d, "greeting.text"),
            Some("FileZilla Server 1.7.0\nPlease visit\nok")
        );
        let d = decode(b"220  ESMTP Exim 4.82\r\n");
        assert_eq!(field(&d, "greeting.text"), Some(" ESMTP Exim 4.82"));
        let d = decode(b"* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n");
        assert_eq!(field(&d, "greeting.code"), Some("* OK"));
        let d = decode(b"+OK POP3 ready\r\n");
        assert_eq!(field(&d, "greeting.text"), Some("POP3 ready"));
        assert_eq!(decode(b"\xff\xfb\x01login: ").protocol, Protocol::Raw);
        assert_eq!(decode(b"2200 x").protocol, Protocol::Raw);
    }

    #[test]
    fn binary_grammars_are_told_apart() {
        let cases: [(&[u8], Protocol); 14] = [
            (include_bytes!("binary/testdata/rabbitmq-3.10.8-connection-start.bin"), Protocol::Amqp),
            (include_bytes!("binary/testdata/smbd-4.17-negotiate-session-setup.bin"), Protocol::Smb),
            (include_bytes!("binary/testdata/slapd-2.5.13-root-dse.bin"), Protocol::Ldap),
            (include_bytes!("binary/testdata/xvfb-21.1.7-setup-reply.bin"), Protocol::X11),
            (include_bytes!("binary/testdata/x11vnc-0.9.16-rfb.bin"), Protocol::Rfb),
            (b"\x04\x01\x00\x2b\x00\x00\x01\x00\x00\x00\x1a\x00\x06\x01\x00\x20\x00\x01\x02\x00\x21\x00\x01\x03\x00\x22\x00\x00\x04\x00\x22\x00\x01\xff\x0f\x00\x07\xd0\x00\x00\x00\x00\x00", Protocol::Mssql),
            (b"N\x00\x00\x00\x0a5.7.44-log\x00\x0b\x00\x00\x00", Protocol::Mysql),
            (b"\x1a\x00\x00\x00\x11\x22\x00\x00PP\x00\x00\xdd\x07\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00", Protocol::Raw),
            (b"220 ready\r\n", Protocol::Greeting),
            (include_bytes!("binary/testdata/xrdp-0.9.21-connection-confirm.bin"), Protocol::Rdp),
            (include_bytes!("binary/testdata/krb5kdc-1.20-as-req-error.bin"), Protocol::Kerberos),
            (include_bytes!("binary/testdata/named-9.18-version-bind-server.bin"), Protocol::Dns),
            (include_bytes!("binary/testdata/samba-dcerpcd-4.17-epm-bind-ack.bin"), Protocol::Dcerpc),
            (b"\x00\x08\x00\x00\x0b\x00\x00\x00", Protocol::Tns),
        ];
        for (bytes, want) in cases {
            assert_eq!(decode(bytes).protocol, want, "{}", String::from_utf8_lossy(bytes));
        }
        let d = decode(include_bytes!("binary/testdata/xvfb-21.1.7-setup-reply.bin"));
        assert_eq!(
            d.joined("x11.vendor+x11.release").as_deref(),
            Some(&b"The X.Org Foundation\n12101007"[..])
        );
        assert_eq!(d.joined("x11.vendor+x11.reason"), None);
    }

    #[test]
    fn known_fields() {
        assert!(is_known_field("ntlm.os_version+ntlm.netbios_computer"));
        assert!(is_known_field("http.header.server+http.status"));
        assert!(!is_known_field("http.header.Server+http.status"));
        assert!(!is_known_field("a+b+c+d+e"));
        assert_eq!(
            field_hint("ssh.version"),
            "ssh.protocol, ssh.software, ssh.comment"
        );
        assert!(field_hint("smb.os+ntlm.os_version").starts_with("smb.dialect, smb.signing"));
        assert!(field_hint("foo.bar").contains("greeting, smb, ntlm, mssql, ldap, rfb, x11"));
        assert!(field_hint("foo.bar").contains("rdp, krb, dns, dcerpc, tns"));
        assert!(is_known_field("http.header.server"));
        assert!(is_known_field("ssh.software"));
        assert!(!is_known_field("http.header.Server"));
        assert!(!is_known_field("http.header."));
        assert!(!is_known_field("ssh.version"));
    }

    #[test]
    fn rpc_java_and_industrial_grammars_are_told_apart() {
        let cases: [(&[u8], Protocol); 6] = [
            (
                include_bytes!("binary/testdata/rpcbind-1.2.6-dump.bin"),
                Protocol::Rpc,
            ),
            (
                include_bytes!("binary/testdata/activemq-5.17.2-wireformatinfo.bin"),
                Protocol::Openwire,
            ),
            (b"PP\x00\x00\x00\x03\xff\xab\x01", Protocol::Modbus),
            (
                b"\x03\x00\x00\x16\x11\xd0\x00\x01\x00\x01\x00\xc0\x01\x0a\xc1\x02\x01\x00\xc2\x02\x01\x02",
                Protocol::S7,
            ),
            (
                include_bytes!("binary/testdata/xrdp-0.9.21-connection-confirm.bin"),
                Protocol::Rdp,
            ),
            (b"\x05\x64\x05\x0b\x00\x00\x01\x00\xba\xf0", Protocol::Dnp3),
        ];
        for (bytes, want) in cases {
            assert_eq!(decode(bytes).protocol, want, "{}", String::from_utf8_lossy(bytes));
        }
        let d = decode(include_bytes!("binary/testdata/rpcbind-1.2.6-dump.bin"));
        assert_eq!(
            d.get("rpc.programs"),
            Some(
                &b"100000 portmapper v2-4 tcp,udp 111, 100005 mountd v3 tcp 20048, 100003 nfs v3 tcp 2049"[..]
            )
        );
        let d = decode(include_bytes!(
            "binary/testdata/activemq-5.17.2-wireformatinfo.bin"
        ));
        assert_eq!(d.get("openwire.provider_version"), Some(&b"5.17.2"[..]));
        assert_eq!(d.get("openwire.platform_details"), Some(&b"Java"[..]));
    }
}
