//! `runtime NAME: ec2 { instance_type, ssh_from, ami, subnet, key_name, volume }`: where the
//! scraper daemon runs.

use crate::check::attrs::{self, AttrSpec, Attrs, Members};
use crate::check::aws;
use crate::check::ctx::Ctx;
use crate::diag::Code;
use crate::ir::{Arch, Ec2Runtime, Runtime, RuntimeKind};
use crate::syntax::ast::Block;

const SPEC: AttrSpec = AttrSpec {
    allowed: &[
        "instance_type",
        "ssh_from",
        "ami",
        "subnet",
        "key_name",
        "volume",
    ],
    required: &["instance_type", "ssh_from"],
};

pub(crate) fn check(ctx: &mut Ctx, block: &Block) -> Option<Runtime> {
    let a = Attrs::collect(ctx, block, &SPEC, Members::default());
    let instance_type = a.get("instance_type").and_then(|e| {
        let t = attrs::string(ctx, e, "`\"t4g.nano\"`")?;
        if aws::instance_type_ok(&t) {
            Some(t)
        } else {
            ctx.error(
                Code::BadInstanceType,
                e.span,
                format!("`{t}` is not an EC2 instance type"),
            )
            .label("unknown instance type")
            .help("instance types look like `t4g.nano`, `t3.micro` or `m7g.large`");
            None
        }
    });
    let ssh_from = a.get("ssh_from").and_then(|e| {
        let s = attrs::string(ctx, e, "`\"203.0.113.7/32\"`")?;
        cidr(ctx, &s, e.span)
    });
    let prefixed = |ctx: &mut Ctx, key: &str, prefix: &str| -> Option<Option<String>> {
        let Some(e) = a.get(key) else {
            return Some(None);
        };
        let s = attrs::string(ctx, e, &format!("`\"{prefix}0123456789abcdef0\"`"))?;
        let id = s.strip_prefix(prefix).unwrap_or("");
        if id.len() >= 8
            && id.len() <= 17
            && id
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        {
            Some(Some(s))
        } else {
            ctx.error(
                Code::BadName,
                e.span,
                format!("`{s}` is not an id of the form `{prefix}...`"),
            )
            .label("malformed id")
            .help(format!("ids look like `{prefix}0123456789abcdef0`"));
            None
        }
    };
    let ami = prefixed(ctx, "ami", "ami-");
    let subnet = prefixed(ctx, "subnet", "subnet-");
    let key_name = a
        .get("key_name")
        .and_then(|e| attrs::string(ctx, e, "`\"my-key\"`"));
    let volume_gib = match a.get("volume") {
        None => Some(8),
        Some(e) => attrs::size(ctx, e).and_then(|b| {
            let gib = b >> 30;
            if b % (1 << 30) == 0 && (1..=16_384).contains(&gib) {
                Some(gib as u32)
            } else {
                ctx.error(
                    Code::BadNumber,
                    e.span,
                    "the root volume is 1 to 16384 GiB, in whole GiB",
                )
                .label("out of range")
                .help("write e.g. `volume = 8GiB`");
                None
            }
        }),
    };
    let instance_type = instance_type?;
    let arch = if aws::is_arm64(&instance_type) {
        Arch::Arm64
    } else {
        Arch::X86_64
    };
    Some(Runtime {
        name: block.name.name.clone(),
        kind: RuntimeKind::Ec2(Ec2Runtime {
            instance_type,
            arch,
            ssh_from: ssh_from?,
            ami: ami?,
            subnet: subnet?,
            key_name,
            volume_gib: volume_gib?,
        }),
    })
}

/// One CIDR block; the whole internet is refused, more than one address warned about.
fn cidr(ctx: &mut Ctx, s: &str, span: crate::syntax::span::Span) -> Option<String> {
    let net: ipnet::IpNet = match s.parse() {
        Ok(n) => n,
        Err(_) => {
            let help = if s.parse::<std::net::IpAddr>().is_ok() {
                let bits = if s.contains(':') { 128 } else { 32 };
                format!("add the prefix length: `\"{s}/{bits}\"` is that one address")
            } else {
                "write the VPN's egress address as a CIDR block, e.g. `\"203.0.113.7/32\"`".into()
            };
            ctx.error(Code::BadCidr, span, format!("`{s}` is not a CIDR block"))
                .label("not a CIDR")
                .help(help);
            return None;
        }
    };
    if net.prefix_len() == 0 {
        ctx.error(
            Code::SshOpenToWorld,
            span,
            "SSH would be open to the whole internet",
        )
        .label(format!("`{s}` matches every address"))
        .help("allow only your VPN's egress address, e.g. `ssh_from = \"203.0.113.7/32\"`");
        return None;
    }
    if net.addr() != net.network() {
        ctx.error(Code::BadCidr, span, format!("`{s}` has host bits set"))
            .label("not a network address")
            .help(format!(
                "did you mean `\"{}/{}\"` (the network), or `\"{}/{}\"` (the one address)?",
                net.network(),
                net.prefix_len(),
                net.addr(),
                net.max_prefix_len()
            ));
        return None;
    }
    if net.prefix_len() != net.max_prefix_len() {
        ctx.error(
            Code::WideSshCidr,
            span,
            format!(
                "SSH is allowed from {} addresses",
                if net.prefix_len() + 32 < net.max_prefix_len() {
                    "billions of".to_string()
                } else {
                    format!("{}", 1u128 << (net.max_prefix_len() - net.prefix_len()))
                }
            ),
        )
        .label("more than one address")
        .help(format!(
            "if only the VPN connects, allow just its egress address, written with /{} (e.g. `\"{}\"`)",
            net.max_prefix_len(),
            if net.max_prefix_len() == 32 { "203.0.113.7/32" } else { "2001:db8::7/128" }
        ));
    }
    Some(net.to_string())
}
