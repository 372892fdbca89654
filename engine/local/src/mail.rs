//! Alert mail over SMTP for local runs (on AWS the same firings go through SNS). A mail that
//! cannot be sent is reported and counted; it never stops the run or loses data.

use lettre::message::Mailbox;
use lettre::{Message, SmtpTransport, Transport};
use stk_eval::Firing;

pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl Mailer {
    /// A mailer for `host:port` (plain SMTP, as local test servers speak it).
    pub fn new(server: &str) -> Result<Self, String> {
        let (host, port) = server
            .rsplit_once(':')
            .ok_or_else(|| format!("`{server}` is not host:port"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| format!("`{port}` is not a port"))?;
        let transport = SmtpTransport::builder_dangerous(host).port(port).build();
        let from: Mailbox = "stkc <stkc@localhost>"
            .parse()
            .map_err(|e| format!("{e}"))?;
        Ok(Mailer { transport, from })
    }

    /// Send one firing to each address; the error of the first failure, if any.
    pub fn send(&self, f: &Firing, to: &[String]) -> Result<(), String> {
        for address in to {
            let to: Mailbox = address.parse().map_err(|e| format!("{address}: {e}"))?;
            let key = f.key_text();
            let subject = format!("[{:?}] {} {}", f.severity, f.alert, key);
            let body = format!(
                "{}\n\nalert: {}\nseries: {}\ntime: {}\nvalue: {}\n",
                f.message, f.alert, key, f.ts, f.value
            );
            let msg = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(subject)
                .body(body)
                .map_err(|e| format!("{e}"))?;
            self.transport
                .send(&msg)
                .map_err(|e| format!("SMTP {address}: {e}"))?;
        }
        Ok(())
    }
}
