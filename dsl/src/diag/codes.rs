//! The registry of diagnostic codes. Codes are stable: once published, a code keeps its
//! meaning forever (retired codes are never reused). `stkc explain CODE` prints the summary.

use serde::Serialize;

macro_rules! codes {
    ($( $variant:ident = $code:literal, $sev:ident, $summary:literal; )*) => {
        /// A stable diagnostic code, rendered as `stk::E0101`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $( $variant, )* }

        impl Code {
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The bare code, e.g. `E0101`.
            pub fn id(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }

            /// The default severity of this code.
            pub fn severity(self) -> super::Severity {
                match self { $( Code::$variant => super::Severity::$sev, )* }
            }

            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self { $( Code::$variant => $summary, )* }
            }
        }
    };
}

codes! {
    // Syntax
    Syntax = "E0001", Error, "the file does not follow the .stk grammar";
    BadLiteral = "E0002", Error, "a literal (number, duration, size, percentage, string) is malformed or out of range";

    // Structure and names
    UnknownBlock = "E0101", Error, "unknown block keyword";
    DuplicateBlock = "E0102", Error, "two blocks have the same name";
    UnknownAttr = "E0103", Error, "unknown attribute for this block";
    DuplicateAttr = "E0104", Error, "an attribute is given twice";
    MissingAttr = "E0105", Error, "a required attribute is missing";
    UnknownKind = "E0106", Error, "unknown kind for this block (e.g. `sink x: mysql`)";
    UnknownField = "E0107", Error, "a name does not refer to a field of the schema";
    UnknownRef = "E0108", Error, "a name does not refer to a block of the right kind";
    MissingBlock = "E0109", Error, "a block every pipeline needs is missing";
    TooManyBlocks = "E0110", Error, "a block that may appear once appears twice";
    MisplacedEntry = "E0111", Error, "a field or rule is written in a block that does not take it";
    DuplicateMember = "E0112", Error, "two fields, rules or list items have the same name";
    MissingKind = "E0113", Error, "the block needs a kind after its name (`name: kind`)";
    UnexpectedKind = "E0114", Error, "this block takes no kind";

    // Types and expressions
    TypeMismatch = "E0201", Error, "an operator is applied to values of the wrong types";
    BadArgType = "E0202", Error, "a function argument has the wrong type";
    WrongArity = "E0203", Error, "a function is called with the wrong number of arguments";
    UnknownFunction = "E0204", Error, "unknown function";
    NotBoolean = "E0205", Error, "a condition is not a boolean expression";
    WindowInRule = "E0206", Error, "a windowed function is used where only per-record expressions are allowed, or nested in another";
    WindowNotConstant = "E0207", Error, "a window must be a duration literal";
    UnknownType = "E0208", Error, "unknown field type";
    WrongValueType = "E0209", Error, "an attribute has a value of the wrong type";
    BadEnumValue = "E0210", Error, "a value is not one of the allowed choices";
    BadTemplate = "E0211", Error, "a message template is malformed";

    // Values and AWS limits
    BadRegion = "E0301", Error, "not an AWS region";
    BadSymbol = "E0302", Error, "not a valid ticker symbol";
    BadCidr = "E0303", Error, "not a valid CIDR block";
    SshOpenToWorld = "E0304", Error, "SSH is opened to the whole internet";
    BufferInterval = "E0305", Error, "Firehose buffer interval outside 60-900 s";
    BufferSize = "E0306", Error, "Firehose buffer size outside 1-128 MiB";
    ShardCount = "E0307", Error, "invalid Kinesis shard count";
    Retention = "E0308", Error, "Kinesis retention outside 24 h - 8760 h";
    WindowExceedsRetention = "E0309", Error, "an alert window is longer than the stream keeps records";
    BadPartitionKey = "E0310", Error, "a partition key is not a schema field or date()/hour() of a timestamp";
    LiteralSecret = "E0311", Error, "a secret is written as a literal";
    BadEmail = "E0312", Error, "not an email address";
    BadRegex = "E0313", Error, "the regular expression does not compile";
    BadDuration = "E0314", Error, "a duration is zero or out of range for its use";
    BadUrl = "E0315", Error, "not a valid http(s) URL or host:port address";
    BadTag = "E0316", Error, "an AWS tag breaks AWS tag rules";
    InfluxColumn = "E0317", Error, "an InfluxDB tag or field column has an unusable type";
    BadPipelineName = "E0318", Error, "the pipeline name cannot be used in AWS resource names";
    EventTime = "E0319", Error, "the schema has no usable event-time field";
    BadDelivery = "E0320", Error, "an alert's delivery path does not exist in this pipeline";
    NullablePartition = "E0321", Error, "a partition key is an optional field (or a boolean, for the stream)";
    PartitionedBufferSize = "E0322", Error, "Firehose dynamic partitioning needs a buffer of at least 64 MiB";
    BadSchedule = "E0323", Error, "a schedule is malformed";
    BadInstanceType = "E0324", Error, "not an EC2 instance type";
    BadCatalog = "E0325", Error, "a Glue catalog needs exactly one of `crawler` or `projection`";
    SourceCannotFill = "E0326", Error, "a required schema field is not produced by the source";
    BadNumber = "E0327", Error, "a number is out of range for its use";
    BadSecretRef = "E0328", Error, "a secret reference is malformed";
    BadName = "E0329", Error, "a name breaks the naming rules of the AWS service it names";

    // Warnings: valid, but probably not what was meant
    FastPolling = "W0001", Warning, "polling faster than every 2 s invites rate limiting";
    NoCooldown = "W0002", Warning, "an alert without a cooldown can send a mail for every record";
    PercentVsNumber = "W0003", Warning, "a percentage is compared with a plain number greater than 1";
    PlainHttp = "W0004", Warning, "a token is sent over plain HTTP to a remote host";
    DuplicateSymbol = "W0005", Warning, "a symbol is listed twice";
    ReplayMissing = "W0006", Warning, "the replay file does not exist (yet)";
    WideSshCidr = "W0007", Warning, "SSH is allowed from more than one address";
    AlertKeyNotPartition = "W0008", Warning, "an alert series is not the stream partition key, so its records may arrive out of order";
    UnusedField = "W0009", Warning, "a tag or field column is listed twice";
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("stk::{}", self.id()))
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stk::{}", self.id())
    }
}

impl std::str::FromStr for Code {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let bare = s.trim().trim_start_matches("stk::").to_ascii_uppercase();
        Code::ALL.iter().copied().find(|c| c.id() == bare).ok_or(())
    }
}
