//! The `$filter` subset of Microsoft Graph's sign-in and audit log queries
//! (`GET …/auditLogs/signIns?$filter=…`, `GET …/auditLogs/directoryAudits?$filter=…`).
//!
//! [`parse`] turns the (already URL-decoded) text into a type-checked [`Expr`] for one
//! [`Log`]; [`to_odata`] prints an expression back (for `@odata.nextLink`), so that
//! `parse(log, &to_odata(&e)) == Ok(e)` for every `e` that `parse` returned; [`matches()`]
//! evaluates an expression over one in-memory record. Pure: no I/O, no clock. The input
//! is untrusted (it comes from the admin API), so its length ([`MAX_INPUT_CHARS`]) and
//! nesting ([`MAX_DEPTH`]) are bounded and every refusal is a [`FilterError`] naming the
//! position and what was expected there.
//!
//! # Grammar
//!
//! ```text
//! filter      = or EOF                       ; at most 2,000 characters
//! or          = and *( "or" and )            ; left-associative
//! and         = unary *( "and" unary )       ; left-associative
//! unary       = "not" unary / primary        ; at most 32 nested 'not' and '('
//! primary     = "(" or ")"
//!             / startswith "(" field "," string ")"      ; string fields only
//!             / "targetResources/any(" var ":" lambda ")" ; directoryAudits only
//!             / field op value
//!             / bool-field                                ; means bool-field eq true
//! lambda      = var "/displayName" op value
//!             / startswith "(" var "/displayName" "," string ")"
//! startswith  = "startswith" / "startsWith"  ; Graph's documents spell it both ways
//! op          = "eq" / "ne" / "gt" / "ge" / "lt" / "le"
//! value       = string / integer / "true" / "false" / "null" / date-time / guid
//! string      = "'" *( any character except "'" / "''" ) "'"   ; '' is one quote
//! integer     = [ "-" ] 1*DIGIT              ; within i64
//! date-time   = YYYY-MM-DD "T" hh:mm:ss [ "." 1*9DIGIT ] ( "Z" / ("+" / "-") hh:mm )
//! guid        = 8HEX "-" 4HEX "-" 4HEX "-" 4HEX "-" 12HEX      ; unquoted, id fields
//! ```
//!
//! Whitespace (space, tab, CR, LF) separates tokens. Precedence is OData's: `not` binds
//! tighter than a comparison, which binds tighter than `and`, then `or`; so
//! `not status/errorCode eq 0` is refused with the fix `not (status/errorCode eq 0)`.
//!
//! # Types, checked at parse time
//!
//! Each [`Field`] has a [`Kind`]. A date-time field takes an unquoted RFC 3339 literal
//! (strict: four-digit year, `T`, seconds required, `Z` or `±hh:mm`, up to nine
//! fractional digits, truncated to milliseconds; years 0000–9999 in UTC); an integer
//! field an unquoted integer; a boolean field `true`/`false`; an enumeration field one of
//! its values, quoted; a string field a quoted string, or on an identifier field
//! (`userId`, `appId`, `resourceId`, `correlationId`, `id`, `initiatedBy/app/appId`) an
//! unquoted GUID as well, which OData writes for `Edm.Guid` properties. `startswith`
//! takes string fields only; `gt ge lt le` take date-time and integer fields only (Graph
//! allows `ge`/`le` on a few string properties; Portvakt does not); `null` goes with
//! `eq`/`ne` only.
//!
//! # Case
//!
//! Keywords (`and or not eq …`, `true false null`), field names and enumeration values
//! are case-sensitive, as in Graph; a filter that differs only in case is refused with the
//! right spelling. Values are compared by [`matches()`] without regard to ASCII case (see
//! there).

use std::fmt;

/// The longest filter [`parse`] reads, in characters.
pub const MAX_INPUT_CHARS: usize = 2000;

/// How deeply `not` and parentheses may nest.
pub const MAX_DEPTH: usize = 32;

/// The values of Graph's `conditionalAccessStatus` enumeration.
pub const CONDITIONAL_ACCESS_STATUS_VALUES: &[&str] =
    &["success", "failure", "notApplied", "unknownFutureValue"];

/// The values of Graph's `operationResult` enumeration (a directory audit's `result`).
pub const OPERATION_RESULT_VALUES: &[&str] =
    &["success", "failure", "timeout", "unknownFutureValue"];

/// Which log a filter is for: decides the allowed fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Log {
    /// `auditLogs/signIns`.
    SignIns,
    /// `auditLogs/directoryAudits`.
    DirectoryAudits,
}

const SIGN_IN_FIELDS: &[Field] = &[
    Field::CreatedDateTime,
    Field::UserPrincipalName,
    Field::UserId,
    Field::AppId,
    Field::AppDisplayName,
    Field::ResourceId,
    Field::IpAddress,
    Field::CorrelationId,
    Field::StatusErrorCode,
    Field::ConditionalAccessStatus,
    Field::IsInteractive,
    Field::ClientAppUsed,
    Field::Id,
];

const DIRECTORY_AUDIT_FIELDS: &[Field] = &[
    Field::ActivityDateTime,
    Field::ActivityDisplayName,
    Field::Category,
    Field::Result,
    Field::CorrelationId,
    Field::Id,
    Field::InitiatedByUserPrincipalName,
    Field::InitiatedByAppId,
    Field::TargetResourcesDisplayName,
];

impl Log {
    /// The collection's name in Graph: `signIns` or `directoryAudits`.
    pub fn name(self) -> &'static str {
        match self {
            Log::SignIns => "signIns",
            Log::DirectoryAudits => "directoryAudits",
        }
    }

    /// The fields a filter on this log may name, in Graph's documentation order.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Log::SignIns => SIGN_IN_FIELDS,
            Log::DirectoryAudits => DIRECTORY_AUDIT_FIELDS,
        }
    }

    /// The field whose property path is exactly `graph_name` (case-sensitive), if this
    /// log has it. The collection field `targetResources` is reached only through
    /// `targetResources/any(…)`, never by a path.
    pub fn field(self, graph_name: &str) -> Option<Field> {
        self.fields()
            .iter()
            .copied()
            .find(|f| !f.is_collection() && f.graph_name() == graph_name)
    }

    fn other(self) -> Log {
        match self {
            Log::SignIns => Log::DirectoryAudits,
            Log::DirectoryAudits => Log::SignIns,
        }
    }

    fn example(self) -> &'static str {
        match self {
            Log::SignIns => "createdDateTime ge 2026-12-01T00:00:00Z",
            Log::DirectoryAudits => "activityDateTime ge 2026-12-01T00:00:00Z",
        }
    }
}

impl fmt::Display for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A field a filter may name: one variant per Graph property path that is filterable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// signIns `createdDateTime` (date-time).
    CreatedDateTime,
    /// signIns `userPrincipalName` (string).
    UserPrincipalName,
    /// signIns `userId` (string; a GUID).
    UserId,
    /// signIns `appId` (string; a GUID).
    AppId,
    /// signIns `appDisplayName` (string).
    AppDisplayName,
    /// signIns `resourceId` (string; a GUID).
    ResourceId,
    /// signIns `ipAddress` (string).
    IpAddress,
    /// `correlationId`, in both logs (string; a GUID).
    CorrelationId,
    /// signIns `status/errorCode` (integer; 0 is success).
    StatusErrorCode,
    /// signIns `conditionalAccessStatus` (enumeration:
    /// [`CONDITIONAL_ACCESS_STATUS_VALUES`]).
    ConditionalAccessStatus,
    /// signIns `isInteractive` (boolean).
    IsInteractive,
    /// signIns `clientAppUsed` (string).
    ClientAppUsed,
    /// `id`, in both logs (string).
    Id,
    /// directoryAudits `activityDateTime` (date-time).
    ActivityDateTime,
    /// directoryAudits `activityDisplayName` (string).
    ActivityDisplayName,
    /// directoryAudits `category` (string).
    Category,
    /// directoryAudits `result` (enumeration: [`OPERATION_RESULT_VALUES`]).
    Result,
    /// directoryAudits `initiatedBy/user/userPrincipalName` (string).
    InitiatedByUserPrincipalName,
    /// directoryAudits `initiatedBy/app/appId` (string; a GUID).
    InitiatedByAppId,
    /// directoryAudits `targetResources/any(t: t/displayName …)`: the display names of
    /// the target resources, a collection; a condition on it holds if it holds for any
    /// of them.
    TargetResourcesDisplayName,
}

/// The type of a field's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A quoted string ([`Value::String`]).
    String,
    /// A 64-bit integer ([`Value::Int`]).
    Int,
    /// `true` or `false` ([`Value::Bool`]).
    Bool,
    /// An RFC 3339 date-time ([`Value::DateTimeMs`]).
    DateTime,
    /// One of these strings, quoted and case-sensitive ([`Value::String`]).
    Enum(&'static [&'static str]),
}

impl Field {
    /// The Graph property path, e.g. `status/errorCode`. For
    /// [`Field::TargetResourcesDisplayName`] it is `targetResources/displayName`, which a
    /// filter writes as `targetResources/any(t: t/displayName …)`.
    pub fn graph_name(self) -> &'static str {
        match self {
            Field::CreatedDateTime => "createdDateTime",
            Field::UserPrincipalName => "userPrincipalName",
            Field::UserId => "userId",
            Field::AppId => "appId",
            Field::AppDisplayName => "appDisplayName",
            Field::ResourceId => "resourceId",
            Field::IpAddress => "ipAddress",
            Field::CorrelationId => "correlationId",
            Field::StatusErrorCode => "status/errorCode",
            Field::ConditionalAccessStatus => "conditionalAccessStatus",
            Field::IsInteractive => "isInteractive",
            Field::ClientAppUsed => "clientAppUsed",
            Field::Id => "id",
            Field::ActivityDateTime => "activityDateTime",
            Field::ActivityDisplayName => "activityDisplayName",
            Field::Category => "category",
            Field::Result => "result",
            Field::InitiatedByUserPrincipalName => "initiatedBy/user/userPrincipalName",
            Field::InitiatedByAppId => "initiatedBy/app/appId",
            Field::TargetResourcesDisplayName => "targetResources/displayName",
        }
    }

    /// The type of the field's values.
    pub fn kind(self) -> Kind {
        match self {
            Field::CreatedDateTime | Field::ActivityDateTime => Kind::DateTime,
            Field::StatusErrorCode => Kind::Int,
            Field::IsInteractive => Kind::Bool,
            Field::ConditionalAccessStatus => Kind::Enum(CONDITIONAL_ACCESS_STATUS_VALUES),
            Field::Result => Kind::Enum(OPERATION_RESULT_VALUES),
            Field::UserPrincipalName
            | Field::UserId
            | Field::AppId
            | Field::AppDisplayName
            | Field::ResourceId
            | Field::IpAddress
            | Field::CorrelationId
            | Field::ClientAppUsed
            | Field::Id
            | Field::ActivityDisplayName
            | Field::Category
            | Field::InitiatedByUserPrincipalName
            | Field::InitiatedByAppId
            | Field::TargetResourcesDisplayName => Kind::String,
        }
    }

    /// Does the field hold several values (a condition on it holds if it holds for any)?
    /// Only [`Field::TargetResourcesDisplayName`] does.
    pub fn is_collection(self) -> bool {
        matches!(self, Field::TargetResourcesDisplayName)
    }

    /// Does the field hold identifiers, so that an unquoted GUID is accepted for it?
    fn takes_bare_guid(self) -> bool {
        matches!(
            self,
            Field::UserId
                | Field::AppId
                | Field::ResourceId
                | Field::CorrelationId
                | Field::Id
                | Field::InitiatedByAppId
        )
    }

    /// How the field is written in a filter, for messages and field lists.
    fn written(self) -> &'static str {
        match self {
            Field::TargetResourcesDisplayName => "targetResources/any(t: t/displayName …)",
            f => f.graph_name(),
        }
    }

    fn example_value(self) -> &'static str {
        match self {
            Field::UserPrincipalName | Field::InitiatedByUserPrincipalName => "'alice@contoso.com'",
            Field::AppDisplayName => "'Graph Explorer'",
            Field::IpAddress => "'203.0.113.7'",
            Field::ClientAppUsed => "'Browser'",
            Field::ActivityDisplayName => "'Add user'",
            Field::Category => "'UserManagement'",
            Field::TargetResourcesDisplayName => "'Sales'",
            _ => "'00000003-0000-0000-c000-000000000000'",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.graph_name())
    }
}

/// A literal in a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string (also an enumeration value, or a GUID).
    String(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A date-time, as milliseconds since the Unix epoch (UTC).
    DateTimeMs(i64),
    /// `null`.
    Null,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl Op {
    /// Every operator.
    pub const ALL: [Op; 6] = [Op::Eq, Op::Ne, Op::Gt, Op::Ge, Op::Lt, Op::Le];

    /// The keyword, e.g. `ge`.
    pub fn keyword(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::Lt => "lt",
            Op::Le => "le",
        }
    }

    /// Is it one of `gt ge lt le`, which order values?
    pub fn is_ordering(self) -> bool {
        !matches!(self, Op::Eq | Op::Ne)
    }

    fn from_keyword(w: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.keyword() == w)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// A parsed, type-checked filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// `field op value`.
    Cmp {
        /// The field compared.
        field: Field,
        /// The operator.
        op: Op,
        /// The literal, of the field's [`Kind`] (or [`Value::Null`] with `eq`/`ne`).
        value: Value,
    },
    /// `startswith(field,'prefix')`, on a string field.
    StartsWith {
        /// The field, of [`Kind::String`].
        field: Field,
        /// The prefix.
        prefix: String,
    },
    /// `a and b`.
    And(Box<Expr>, Box<Expr>),
    /// `a or b`.
    Or(Box<Expr>, Box<Expr>),
    /// `not a`.
    Not(Box<Expr>),
}

/// Why a filter was refused: where, and a sentence saying what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at position {position}: {message}")]
pub struct FilterError {
    /// 0-based character (not byte) offset into the input.
    pub position: usize,
    /// What is wrong and what to write instead.
    pub message: String,
}

fn err(position: usize, message: impl Into<String>) -> FilterError {
    FilterError {
        position,
        message: message.into(),
    }
}

/// A filter over the sign-in log: an [`Expr`] that names only [`Log::SignIns`]'s fields
/// (made by [`SignInFilter::parse`] alone). The store translates it for its engine, so
/// no SQL crosses the storage boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInFilter(Expr);

impl SignInFilter {
    /// Parse a `$filter` value (URL-decoded) on the sign-in log.
    pub fn parse(input: &str) -> Result<Self, FilterError> {
        parse(Log::SignIns, input).map(Self)
    }

    /// The expression.
    pub fn expr(&self) -> &Expr {
        &self.0
    }
}

/// Parse `input`, a `$filter` value already URL-decoded, as a filter on `log`.
pub fn parse(log: Log, input: &str) -> Result<Expr, FilterError> {
    let count = input.chars().count();
    if count > MAX_INPUT_CHARS {
        return Err(err(
            MAX_INPUT_CHARS,
            format!(
                "the filter is {count} characters long; at most {MAX_INPUT_CHARS} are accepted"
            ),
        ));
    }
    let mut p = Parser {
        log,
        lexer: Lexer {
            chars: input.chars().collect(),
            at: 0,
        },
        ahead: None,
        depth: 0,
    };
    let first = p.peek()?;
    if first.tok == Tok::End {
        return Err(err(
            first.pos,
            format!(
                "the filter is empty; write a condition such as {}",
                log.example()
            ),
        ));
    }
    let expr = p.or()?;
    let t = p.bump()?;
    match &t.tok {
        Tok::End => Ok(expr),
        Tok::RParen => Err(err(
            t.pos,
            "unbalanced ')': no '(' is open here; remove it or add the '(' it closes",
        )),
        _ => Err(err(
            t.pos,
            format!(
                "unexpected {} after a complete condition; join conditions with 'and' or 'or'",
                found(&t)
            ),
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    Comma,
    Colon,
    /// A quoted string, unescaped.
    Str(String),
    /// A name, keyword or unquoted literal.
    Word(String),
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Character offset of the token's first character.
    pos: usize,
}

struct Lexer {
    chars: Vec<char>,
    at: usize,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Characters of a name or keyword (and of a GUID that starts with a letter).
fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-')
}

/// Characters of an unquoted literal that starts with a digit or '-': integers, GUIDs,
/// date-times (which hold ':' and '+').
fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '+' | '-' | '.' | '_')
}

impl Lexer {
    fn next(&mut self) -> Result<Token, FilterError> {
        while self.chars.get(self.at).is_some_and(|&c| is_space(c)) {
            self.at += 1;
        }
        let pos = self.at;
        let Some(&c) = self.chars.get(pos) else {
            return Ok(Token { tok: Tok::End, pos });
        };
        let single = |tok| Token { tok, pos };
        let tok = match c {
            '(' => single(Tok::LParen),
            ')' => single(Tok::RParen),
            ',' => single(Tok::Comma),
            ':' => single(Tok::Colon),
            '\'' => return self.string(pos),
            c if c.is_ascii_digit() || c == '-' => return Ok(self.run(pos, is_literal_char)),
            c if c.is_alphanumeric() || c == '_' => return Ok(self.run(pos, is_name_char)),
            '"' => {
                return Err(err(
                    pos,
                    "strings are quoted with single quotes in OData, as in 'Graph'; \
                     a quote inside one is written ''",
                ))
            }
            '=' | '!' | '<' | '>' => {
                return Err(err(
                    pos,
                    format!(
                        "{c:?} is not an OData operator; compare with eq, ne, gt, ge, lt or le"
                    ),
                ))
            }
            '&' | '|' => {
                return Err(err(
                    pos,
                    format!("{c:?} is not an OData operator; join conditions with 'and' or 'or'"),
                ))
            }
            _ => {
                return Err(err(
                    pos,
                    format!(
                        "unexpected character {c:?}; expected a field name, a value, \
                         an operator or a parenthesis"
                    ),
                ))
            }
        };
        self.at += 1;
        Ok(tok)
    }

    fn run(&mut self, pos: usize, keep: fn(char) -> bool) -> Token {
        let mut end = pos;
        while self.chars.get(end).is_some_and(|&c| keep(c)) {
            end += 1;
        }
        self.at = end;
        let word = self
            .chars
            .get(pos..end)
            .unwrap_or_default()
            .iter()
            .collect();
        Token {
            tok: Tok::Word(word),
            pos,
        }
    }

    fn string(&mut self, pos: usize) -> Result<Token, FilterError> {
        let mut s = String::new();
        let mut i = pos + 1;
        loop {
            match self.chars.get(i) {
                None => {
                    return Err(err(
                        pos,
                        "the string that starts here is never closed; end it with ' \
                         (a quote inside a string is written '')",
                    ))
                }
                Some('\'') if self.chars.get(i + 1) == Some(&'\'') => {
                    s.push('\'');
                    i += 2;
                }
                Some('\'') => break,
                Some(&c) => {
                    s.push(c);
                    i += 1;
                }
            }
        }
        self.at = i + 1;
        Ok(Token {
            tok: Tok::Str(s),
            pos,
        })
    }
}

/// A token as a message names it.
fn found(t: &Token) -> String {
    match &t.tok {
        Tok::End => "the end of the filter".to_string(),
        Tok::LParen => "'('".to_string(),
        Tok::RParen => "')'".to_string(),
        Tok::Comma => "','".to_string(),
        Tok::Colon => "':'".to_string(),
        Tok::Str(s) => format!("the string '{}'", shown(s)),
        Tok::Word(w) => format!("'{}'", shown(w)),
    }
}

/// At most 40 characters of `s`, for messages.
fn shown(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_string()
    } else {
        let head: String = s.chars().take(40).collect();
        format!("{head}…")
    }
}

fn quoted_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_guid(w: &str) -> bool {
    let b = w.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

const FUNCTIONS_NOT_SUPPORTED: &[&str] = &[
    "endswith",
    "contains",
    "substringof",
    "tolower",
    "toupper",
    "trim",
    "concat",
    "indexof",
    "length",
    "substring",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "date",
    "time",
    "now",
];

// ---------------------------------------------------------------------------------------
// Parser

struct Parser {
    log: Log,
    lexer: Lexer,
    ahead: Option<Token>,
    depth: usize,
}

impl Parser {
    fn peek(&mut self) -> Result<&Token, FilterError> {
        let t = match self.ahead.take() {
            Some(t) => t,
            None => self.lexer.next()?,
        };
        Ok(self.ahead.insert(t))
    }

    fn bump(&mut self) -> Result<Token, FilterError> {
        match self.ahead.take() {
            Some(t) => Ok(t),
            None => self.lexer.next(),
        }
    }

    fn enter(&mut self, pos: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(
                pos,
                format!(
                    "the filter nests more than {MAX_DEPTH} levels of 'not' and parentheses; \
                     simplify it"
                ),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        loop {
            let t = self.peek()?;
            match &t.tok {
                Tok::Word(w) if w == "or" => {
                    self.bump()?;
                    let right = self.and()?;
                    left = Expr::Or(Box::new(left), Box::new(right));
                }
                Tok::Word(w) if w.eq_ignore_ascii_case("or") => {
                    return Err(lowercase(t.pos, w, "or"))
                }
                _ => return Ok(left),
            }
        }
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary(false)?;
        loop {
            let t = self.peek()?;
            match &t.tok {
                Tok::Word(w) if w == "and" => {
                    self.bump()?;
                    let right = self.unary(false)?;
                    left = Expr::And(Box::new(left), Box::new(right));
                }
                Tok::Word(w) if w.eq_ignore_ascii_case("and") => {
                    return Err(lowercase(t.pos, w, "and"))
                }
                _ => return Ok(left),
            }
        }
    }

    /// `after_not`: this operand directly follows a `not`.
    fn unary(&mut self, after_not: bool) -> Result<Expr, FilterError> {
        let t = self.peek()?;
        if let Tok::Word(w) = &t.tok {
            if w == "not" {
                let pos = t.pos;
                self.bump()?;
                self.enter(pos)?;
                let inner = self.unary(true)?;
                self.leave();
                return Ok(Expr::Not(Box::new(inner)));
            }
            if w.eq_ignore_ascii_case("not") {
                return Err(lowercase(t.pos, w, "not"));
            }
        }
        self.primary(after_not)
    }

    fn primary(&mut self, after_not: bool) -> Result<Expr, FilterError> {
        let t = self.bump()?;
        match t.tok {
            Tok::LParen => {
                self.enter(t.pos)?;
                let e = self.or()?;
                let close = self.bump()?;
                match &close.tok {
                    Tok::RParen => {}
                    Tok::End => return Err(unclosed(t.pos, close.pos)),
                    _ => {
                        return Err(err(
                            close.pos,
                            format!("expected 'and', 'or' or ')', found {}", found(&close)),
                        ))
                    }
                }
                self.leave();
                Ok(e)
            }
            Tok::Word(ref w) => self.word(w, t.pos, after_not),
            _ => Err(err(
                t.pos,
                format!(
                    "expected a condition (a field name, 'not', 'startswith' or '('), found {}",
                    found(&t)
                ),
            )),
        }
    }

    /// A primary that starts with the word `w` at `pos`.
    fn word(&mut self, w: &str, pos: usize, after_not: bool) -> Result<Expr, FilterError> {
        if w == "startswith" || w == "startsWith" {
            let (field, prefix) = self.startswith_call(pos, None)?;
            return Ok(Expr::StartsWith { field, prefix });
        }
        if w.eq_ignore_ascii_case("startswith") {
            return Err(err(
                pos,
                format!(
                    "'{w}' is not a function; write startswith (Graph's functions are \
                     lowercase; startsWith is accepted too)"
                ),
            ));
        }
        let lower = w.to_ascii_lowercase();
        if FUNCTIONS_NOT_SUPPORTED.contains(&lower.as_str()) && self.peek()?.tok == Tok::LParen {
            return Err(err(
                pos,
                format!(
                    "'{w}' is not supported; of OData's functions, the {} filter supports \
                     only startswith",
                    self.log
                ),
            ));
        }
        if lower == "and" || lower == "or" || Op::from_keyword(&lower).is_some() {
            return Err(err(
                pos,
                format!(
                    "expected a condition before '{w}', such as {}",
                    self.log.example()
                ),
            ));
        }
        if matches!(lower.as_str(), "true" | "false" | "null") {
            return Err(err(
                pos,
                format!(
                    "expected a condition, found '{w}'; a condition names a field, as in {}",
                    self.log.example()
                ),
            ));
        }
        if self.log == Log::DirectoryAudits {
            if w == "targetResources/any" {
                return self.lambda(pos);
            }
            if lower == "targetresources/any" {
                return Err(err(
                    pos,
                    format!(
                        "'{w}' must be written 'targetResources/any': names are case-sensitive"
                    ),
                ));
            }
            if w.starts_with("targetResources/") || w == "targetResources" {
                return Err(err(
                    pos,
                    format!(
                        "'{}' cannot be filtered: targetResources is a collection; write \
                         targetResources/any(t: t/displayName eq 'Sales')",
                        shown(w)
                    ),
                ));
            }
        }
        let field = self.field(w, pos)?;
        self.comparison(field, after_not)
    }

    /// The field named `w` (at `pos`), or why there is none.
    fn field(&self, w: &str, pos: usize) -> Result<Field, FilterError> {
        let log = self.log;
        if let Some(f) = log.field(w) {
            return Ok(f);
        }
        let list = || {
            log.fields()
                .iter()
                .map(|f| f.written())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(f) = log
            .fields()
            .iter()
            .find(|f| !f.is_collection() && f.graph_name().eq_ignore_ascii_case(w))
        {
            return Err(err(
                pos,
                format!(
                    "'{w}' is not a field of {log}; did you mean '{f}'? (field names are \
                     case-sensitive)"
                ),
            ));
        }
        if log.other().field(w).is_some() {
            return Err(err(
                pos,
                format!(
                    "'{w}' is a field of {}, not of {log}; filterable fields of {log}: {}",
                    log.other(),
                    list()
                ),
            ));
        }
        Err(err(
            pos,
            format!(
                "'{}' is not a field of {log}; filterable fields: {}",
                shown(w),
                list()
            ),
        ))
    }

    /// The rest of `field op value` after the field.
    fn comparison(&mut self, field: Field, after_not: bool) -> Result<Expr, FilterError> {
        let t = self.peek()?.clone();
        let word = match &t.tok {
            Tok::Word(w) => Some(w.as_str()),
            _ => None,
        };
        if let Some(op) = word.and_then(Op::from_keyword) {
            if after_not {
                return Err(err(
                    t.pos,
                    format!(
                        "'not' binds tighter than '{op}' in OData, so this reads as \
                         (not {field}) {op} …; write not ({field} {op} …)"
                    ),
                ));
            }
            self.bump()?;
            let value = self.value(field, op, t.pos)?;
            return Ok(Expr::Cmp { field, op, value });
        }
        if let Some(w) = word {
            let lower = w.to_ascii_lowercase();
            if let Some(op) = Op::from_keyword(&lower) {
                return Err(lowercase(t.pos, w, op.keyword()));
            }
            if lower == "in" || lower == "has" {
                return Err(err(
                    t.pos,
                    format!(
                        "the '{w}' operator is not supported; join eq conditions with 'or', \
                         as in ({field} eq … or {field} eq …)"
                    ),
                ));
            }
        }
        let ends_condition = match &t.tok {
            Tok::End | Tok::RParen => true,
            Tok::Word(w) => w.eq_ignore_ascii_case("and") || w.eq_ignore_ascii_case("or"),
            _ => false,
        };
        if field.kind() == Kind::Bool && ends_condition {
            // OData's boolean member expression: `isInteractive` alone means `eq true`.
            return Ok(Expr::Cmp {
                field,
                op: Op::Eq,
                value: Value::Bool(true),
            });
        }
        Err(err(
            t.pos,
            format!(
                "expected an operator (eq, ne, gt, ge, lt or le) after '{field}', found {}",
                found(&t)
            ),
        ))
    }

    /// The literal after `op` (at `op_pos`) in a comparison on `field`.
    fn value(&mut self, field: Field, op: Op, op_pos: usize) -> Result<Value, FilterError> {
        let kind = field.kind();
        let written = field.written();
        if op.is_ordering() && !matches!(kind, Kind::DateTime | Kind::Int) {
            let hint = match kind {
                Kind::String => {
                    "(Graph allows ge and le on a few string properties; Portvakt does not): \
                     use eq, ne or startswith"
                }
                _ => "use eq or ne",
            };
            return Err(err(
                op_pos,
                format!(
                    "'{op}' orders date-times and integers only, and {written} is {}; {hint}",
                    kind_phrase(kind)
                ),
            ));
        }
        let t = self.bump()?;
        let expected = |t: &Token| {
            err(
                t.pos,
                format!(
                    "expected {} after '{op}', found {}",
                    expected_value(field),
                    found(t)
                ),
            )
        };
        if let Tok::Word(w) = &t.tok {
            if w == "null" {
                if op.is_ordering() {
                    return Err(err(
                        t.pos,
                        format!("null compares only with eq or ne, not with '{op}'"),
                    ));
                }
                return Ok(Value::Null);
            }
            if w.eq_ignore_ascii_case("null") {
                return Err(lowercase(t.pos, w, "null"));
            }
        }
        match kind {
            Kind::DateTime => match &t.tok {
                Tok::Word(w) if w.starts_with(|c: char| c.is_ascii_digit()) => parse_rfc3339(w)
                    .map(Value::DateTimeMs)
                    .map_err(|(at, why)| {
                        err(
                            t.pos + at,
                            format!(
                                "'{}' is not an RFC 3339 date-time: {why}; expected one like \
                             2026-12-01T00:00:00Z after '{op}'",
                                shown(w)
                            ),
                        )
                    }),
                Tok::Str(s) if parse_rfc3339(s).is_ok() => Err(err(
                    t.pos,
                    format!("date-times are not quoted in OData: write {s} without the quotes"),
                )),
                _ => Err(expected(&t)),
            },
            Kind::Int => match &t.tok {
                Tok::Word(w) => match parse_int(w) {
                    Some(Ok(n)) => Ok(Value::Int(n)),
                    Some(Err(())) => Err(err(
                        t.pos,
                        format!(
                            "'{}' does not fit in a 64-bit integer; {written} takes values \
                             from {} to {}",
                            shown(w),
                            i64::MIN,
                            i64::MAX
                        ),
                    )),
                    None => Err(expected(&t)),
                },
                Tok::Str(s) if matches!(parse_int(s), Some(Ok(_))) => Err(err(
                    t.pos,
                    format!("integers are not quoted in OData: write {s} without the quotes"),
                )),
                _ => Err(expected(&t)),
            },
            Kind::Bool => match &t.tok {
                Tok::Word(w) if w == "true" => Ok(Value::Bool(true)),
                Tok::Word(w) if w == "false" => Ok(Value::Bool(false)),
                Tok::Word(w) if w.eq_ignore_ascii_case("true") => Err(lowercase(t.pos, w, "true")),
                Tok::Word(w) if w.eq_ignore_ascii_case("false") => {
                    Err(lowercase(t.pos, w, "false"))
                }
                Tok::Str(s) if s == "true" || s == "false" => Err(err(
                    t.pos,
                    format!("booleans are not quoted in OData: write {s} without the quotes"),
                )),
                _ => Err(expected(&t)),
            },
            Kind::Enum(values) => match &t.tok {
                Tok::Str(s) if values.contains(&s.as_str()) => Ok(Value::String(s.clone())),
                Tok::Str(s) => match values.iter().find(|v| v.eq_ignore_ascii_case(s)) {
                    Some(v) => Err(err(
                        t.pos,
                        format!(
                            "'{s}' is not a value of {written}; did you mean '{v}'? \
                             (values are case-sensitive)"
                        ),
                    )),
                    None => Err(err(
                        t.pos,
                        format!(
                            "'{}' is not a value of {written}; expected one of {}",
                            shown(s),
                            quoted_list(values)
                        ),
                    )),
                },
                Tok::Word(w) if values.contains(&w.as_str()) => Err(err(
                    t.pos,
                    format!("enumeration values are quoted in OData: write '{w}'"),
                )),
                _ => Err(expected(&t)),
            },
            Kind::String => match &t.tok {
                Tok::Str(s) => Ok(Value::String(s.clone())),
                Tok::Word(w) if is_guid(w) && field.takes_bare_guid() => {
                    Ok(Value::String(w.clone()))
                }
                Tok::Word(w) if is_guid(w) => Err(err(
                    t.pos,
                    format!("{written} takes a quoted string: write '{w}'"),
                )),
                _ => Err(expected(&t)),
            },
        }
    }

    /// `startswith(field,'prefix')` after the word (at `pos`). In a lambda over
    /// targetResources, `var` is its range variable and the field is `var/displayName`.
    fn startswith_call(
        &mut self,
        pos: usize,
        var: Option<&str>,
    ) -> Result<(Field, String), FilterError> {
        let open = self.bump()?;
        if open.tok != Tok::LParen {
            return Err(err(
                open.pos,
                format!(
                    "expected '(' after 'startswith', as in startswith(appDisplayName,'Graph'), \
                     found {}",
                    found(&open)
                ),
            ));
        }
        let f = self.bump()?;
        let field = match (&f.tok, var) {
            (Tok::Word(w), Some(v)) if *w == format!("{v}/displayName") => {
                Field::TargetResourcesDisplayName
            }
            (_, Some(v)) => {
                return Err(err(
                    f.pos,
                    format!(
                        "expected {v}/displayName as the first argument of startswith, found {}",
                        found(&f)
                    ),
                ))
            }
            (Tok::Word(w), None) => {
                if self.log == Log::DirectoryAudits && w.starts_with("targetResources/") {
                    return Err(err(
                        f.pos,
                        "targetResources is a collection; write \
                         targetResources/any(t: startswith(t/displayName,'Sal'))",
                    ));
                }
                self.field(w, f.pos)?
            }
            (_, None) => {
                return Err(err(
                    f.pos,
                    format!(
                        "expected a field name as the first argument of startswith, found {}",
                        found(&f)
                    ),
                ))
            }
        };
        if field.kind() != Kind::String {
            return Err(err(
                f.pos,
                format!(
                    "startswith applies to string fields only, and {field} is {}; {}",
                    kind_phrase(field.kind()),
                    match field.kind() {
                        Kind::DateTime | Kind::Int => "compare it with eq, ne, gt, ge, lt or le",
                        _ => "compare it with eq or ne",
                    }
                ),
            ));
        }
        let comma = self.bump()?;
        if comma.tok != Tok::Comma {
            return Err(err(
                comma.pos,
                format!(
                    "expected ',' between the field and the prefix of startswith, found {}",
                    found(&comma)
                ),
            ));
        }
        let p = self.bump()?;
        let Tok::Str(prefix) = p.tok else {
            return Err(err(
                p.pos,
                format!(
                    "expected the prefix as a quoted string, as in startswith({},'Gra'), found {}",
                    field.graph_name(),
                    found(&p)
                ),
            ));
        };
        let close = self.bump()?;
        match close.tok {
            Tok::RParen => Ok((field, prefix)),
            Tok::End => Err(unclosed(open.pos, close.pos)),
            _ => Err(err(
                close.pos,
                format!(
                    "expected ')' to close startswith( at position {pos}, found {}",
                    found(&close)
                ),
            )),
        }
    }

    /// `targetResources/any(t: …)` after the word (at `pos`).
    fn lambda(&mut self, pos: usize) -> Result<Expr, FilterError> {
        const FORM: &str = "targetResources/any(t: t/displayName eq 'Sales')";
        let open = self.bump()?;
        if open.tok != Tok::LParen {
            return Err(err(
                open.pos,
                format!(
                    "expected '(' after 'targetResources/any', as in {FORM}, found {}",
                    found(&open)
                ),
            ));
        }
        let v = self.bump()?;
        let var = match &v.tok {
            Tok::Word(w)
                if w.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                w.clone()
            }
            _ => {
                return Err(err(
                    v.pos,
                    format!(
                        "expected a range variable such as t after 'targetResources/any(', as \
                         in {FORM}, found {}",
                        found(&v)
                    ),
                ))
            }
        };
        let colon = self.bump()?;
        if colon.tok != Tok::Colon {
            return Err(err(
                colon.pos,
                format!(
                    "expected ':' after the range variable '{var}', as in {FORM}, found {}",
                    found(&colon)
                ),
            ));
        }
        let body = self.bump()?;
        let member = format!("{var}/displayName");
        let expr = match &body.tok {
            Tok::Word(w) if w == "startswith" || w == "startsWith" => {
                let (field, prefix) = self.startswith_call(body.pos, Some(&var))?;
                Expr::StartsWith { field, prefix }
            }
            Tok::Word(w) if *w == member => {
                let field = Field::TargetResourcesDisplayName;
                let t = self.bump()?;
                let op = match &t.tok {
                    Tok::Word(o) => match Op::from_keyword(o) {
                        Some(op) => op,
                        None => match Op::from_keyword(&o.to_ascii_lowercase()) {
                            Some(op) => return Err(lowercase(t.pos, o, op.keyword())),
                            None => return Err(missing_op(&t, &member)),
                        },
                    },
                    _ => return Err(missing_op(&t, &member)),
                };
                let value = self.value(field, op, t.pos)?;
                Expr::Cmp { field, op, value }
            }
            Tok::Word(w) if w.starts_with(&format!("{var}/")) => {
                return Err(err(
                    body.pos,
                    format!(
                        "only {member} can be filtered inside targetResources/any(…), not '{}'",
                        shown(w)
                    ),
                ))
            }
            _ => {
                return Err(err(
                    body.pos,
                    format!(
                        "expected {member} eq '…' or startswith({member},'…') inside \
                         targetResources/any(…), found {}",
                        found(&body)
                    ),
                ))
            }
        };
        let close = self.bump()?;
        match &close.tok {
            Tok::RParen => Ok(expr),
            Tok::End => Err(unclosed(open.pos, close.pos)),
            Tok::Word(w) if w.eq_ignore_ascii_case("and") || w.eq_ignore_ascii_case("or") => {
                Err(err(
                    close.pos,
                    format!(
                        "only one condition is supported inside targetResources/any(…) at \
                         position {pos}; join several any(…) with '{}' instead",
                        w.to_ascii_lowercase()
                    ),
                ))
            }
            _ => Err(err(
                close.pos,
                format!(
                    "expected ')' to close targetResources/any( at position {pos}, found {}",
                    found(&close)
                ),
            )),
        }
    }
}

fn lowercase(pos: usize, written: &str, keyword: &str) -> FilterError {
    err(
        pos,
        format!("'{written}' must be written '{keyword}': OData keywords are lowercase"),
    )
}

fn unclosed(open: usize, end: usize) -> FilterError {
    err(
        open,
        format!("this '(' is never closed: the filter ends at position {end}; add ')'"),
    )
}

fn missing_op(t: &Token, member: &str) -> FilterError {
    err(
        t.pos,
        format!(
            "expected an operator (eq or ne) after '{member}', found {}",
            found(t)
        ),
    )
}

fn kind_phrase(kind: Kind) -> String {
    match kind {
        Kind::String => "a string".to_string(),
        Kind::Int => "an integer".to_string(),
        Kind::Bool => "a boolean".to_string(),
        Kind::DateTime => "a date-time".to_string(),
        Kind::Enum(values) => format!("an enumeration ({})", quoted_list(values)),
    }
}

fn expected_value(field: Field) -> String {
    match field.kind() {
        Kind::DateTime => "an RFC 3339 date-time like 2026-12-01T00:00:00Z".to_string(),
        Kind::Int => "an integer like 50126".to_string(),
        Kind::Bool => "true or false".to_string(),
        Kind::Enum(values) => format!("one of {}", quoted_list(values)),
        Kind::String if field.takes_bare_guid() => {
            format!("a quoted string or a GUID like {}", field.example_value())
        }
        Kind::String => format!("a quoted string like {}", field.example_value()),
    }
}

/// `Some(Ok(n))` for an integer literal, `Some(Err(()))` for one out of range, `None` for
/// anything else.
fn parse_int(w: &str) -> Option<Result<i64, ()>> {
    let digits = w.strip_prefix('-').unwrap_or(w);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(w.parse::<i64>().map_err(|_| ()))
}

// ---------------------------------------------------------------------------------------
// RFC 3339

const MS_PER_DAY: i64 = 86_400_000;
/// 0000-01-01T00:00:00Z.
const MIN_DATETIME_MS: i64 = -62_167_219_200_000;
/// 9999-12-31T23:59:59.999Z.
const MAX_DATETIME_MS: i64 = 253_402_300_799_999;

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Parse a strict RFC 3339 date-time to Unix milliseconds. On failure: the byte offset
/// (= character offset: the accepted alphabet is ASCII) of the fault and why.
fn parse_rfc3339(s: &str) -> Result<i64, (usize, String)> {
    let b = s.as_bytes();
    let num = |at: usize, n: usize, what: &str| -> Result<i64, (usize, String)> {
        match b.get(at..at + n) {
            Some(p) if p.iter().all(u8::is_ascii_digit) => {
                Ok(p.iter().fold(0, |acc, d| acc * 10 + i64::from(d - b'0')))
            }
            _ => Err((at, format!("expected {n} digits of the {what} here"))),
        }
    };
    let sep = |at: usize, c: u8, after: &str| -> Result<(), (usize, String)> {
        if b.get(at) == Some(&c) {
            Ok(())
        } else {
            Err((at, format!("expected '{}' after the {after}", c as char)))
        }
    };
    let year = num(0, 4, "year")?;
    sep(4, b'-', "year")?;
    let month = num(5, 2, "month")?;
    if !(1..=12).contains(&month) {
        return Err((5, format!("month {month:02} does not exist")));
    }
    sep(7, b'-', "month")?;
    let day = num(8, 2, "day")?;
    if day < 1 || day > days_in_month(year, month) {
        return Err((8, format!("{year:04}-{month:02} has no day {day:02}")));
    }
    match b.get(10) {
        Some(b'T' | b't') => {}
        None => {
            return Err((
                10,
                format!(
                    "a date alone is not enough; add the time and offset, as in {}T00:00:00Z",
                    s
                ),
            ))
        }
        Some(_) => return Err((10, "expected 'T' between the date and the time".to_string())),
    }
    let hour = num(11, 2, "hour")?;
    if hour > 23 {
        return Err((11, format!("hour {hour:02} does not exist")));
    }
    sep(13, b':', "hour")?;
    let minute = num(14, 2, "minute")?;
    if minute > 59 {
        return Err((14, format!("minute {minute:02} does not exist")));
    }
    sep(16, b':', "minute")?;
    let second = num(17, 2, "second")?;
    if second == 60 {
        return Err((17, "a leap second (:60) cannot be represented".to_string()));
    }
    if second > 59 {
        return Err((17, format!("second {second:02} does not exist")));
    }
    let mut at = 19;
    let mut ms = 0;
    if b.get(at) == Some(&b'.') {
        let start = at + 1;
        let mut n = 0;
        while let Some(d) = b.get(start + n).filter(|d| d.is_ascii_digit()) {
            if n < 3 {
                ms = ms * 10 + i64::from(d - b'0');
            }
            n += 1;
        }
        if n == 0 {
            return Err((start, "expected digits after '.'".to_string()));
        }
        if n > 9 {
            return Err((
                start + 9,
                "at most 9 digits of fractional seconds are accepted".to_string(),
            ));
        }
        for _ in n..3 {
            ms *= 10;
        }
        at = start + n;
    }
    let offset_minutes = match b.get(at) {
        Some(b'Z' | b'z') => {
            at += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(at + 1, 2, "offset's hours")?;
            if oh > 23 {
                return Err((at + 1, format!("an offset of {oh:02} hours does not exist")));
            }
            sep(at + 3, b':', "offset's hours")?;
            let om = num(at + 4, 2, "offset's minutes")?;
            if om > 59 {
                return Err((
                    at + 4,
                    format!("an offset of {om:02} minutes does not exist"),
                ));
            }
            at += 6;
            if sign == b'+' {
                oh * 60 + om
            } else {
                -(oh * 60 + om)
            }
        }
        None => {
            return Err((
                at,
                "the offset is missing; end with Z for UTC or an offset like +01:00 \
                 (in a URL, '+' is written %2B)"
                    .to_string(),
            ))
        }
        Some(_) => {
            return Err((
                at,
                "expected Z or an offset like +01:00 after the time".to_string(),
            ))
        }
    };
    if at != b.len() {
        return Err((at, "unexpected characters after the offset".to_string()));
    }
    let days = days_from_civil(year, month, day);
    let total =
        (((days * 24 + hour) * 60 + minute) * 60 + second) * 1000 + ms - offset_minutes * 60_000;
    if !(MIN_DATETIME_MS..=MAX_DATETIME_MS).contains(&total) {
        return Err((0, "it falls outside the years 0000-9999 in UTC".to_string()));
    }
    Ok(total)
}

/// Unix milliseconds as RFC 3339 in UTC: `2026-12-01T00:00:00Z`, with `.mmm` when the
/// milliseconds are not zero. Outside the years 0000–9999 the year is printed as it is
/// (and such a literal does not parse back).
fn format_rfc3339(ms: i64) -> String {
    let (y, mo, d) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    let rem = ms.rem_euclid(MS_PER_DAY);
    let (h, mi, s, f) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    if f == 0 {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:03}Z")
    }
}

// ---------------------------------------------------------------------------------------
// Printing

/// Print `expr` as an OData `$filter` (not URL-encoded), with only the parentheses its
/// structure needs, so that `parse(log, &to_odata(&e)) == Ok(e)` for every `e` that
/// [`parse`] returned. Strings are quoted with `''` for a quote, date-times printed in
/// UTC. An expression built by hand with a value of the wrong kind for its field prints
/// as written, and [`parse`] refuses it.
pub fn to_odata(expr: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, expr);
    out
}

/// Binding strength: `or` 1, `and` 2, the rest 3.
fn strength(e: &Expr) -> u8 {
    match e {
        Expr::Or(..) => 1,
        Expr::And(..) => 2,
        _ => 3,
    }
}

fn write_expr(out: &mut String, e: &Expr) {
    match e {
        Expr::Or(a, b) => {
            write_operand(out, a, 1, false);
            out.push_str(" or ");
            write_operand(out, b, 1, true);
        }
        Expr::And(a, b) => {
            write_operand(out, a, 2, false);
            out.push_str(" and ");
            write_operand(out, b, 2, true);
        }
        Expr::Not(inner) => {
            out.push_str("not ");
            // `not` binds tighter than a comparison: `not (x eq 1)`. A collection
            // comparison prints as `targetResources/any(…)`, already a unit.
            let bare = match &**inner {
                Expr::Cmp { field, .. } => field.is_collection(),
                Expr::StartsWith { .. } | Expr::Not(_) => true,
                Expr::And(..) | Expr::Or(..) => false,
            };
            if bare {
                write_expr(out, inner);
            } else {
                out.push('(');
                write_expr(out, inner);
                out.push(')');
            }
        }
        Expr::Cmp { field, op, value } if field.is_collection() => {
            out.push_str("targetResources/any(t: t/displayName ");
            out.push_str(op.keyword());
            out.push(' ');
            write_value(out, value);
            out.push(')');
        }
        Expr::Cmp { field, op, value } => {
            out.push_str(field.graph_name());
            out.push(' ');
            out.push_str(op.keyword());
            out.push(' ');
            write_value(out, value);
        }
        Expr::StartsWith { field, prefix } if field.is_collection() => {
            out.push_str("targetResources/any(t: startswith(t/displayName,");
            write_string(out, prefix);
            out.push_str("))");
        }
        Expr::StartsWith { field, prefix } => {
            out.push_str("startswith(");
            out.push_str(field.graph_name());
            out.push(',');
            write_string(out, prefix);
            out.push(')');
        }
    }
}

/// An operand of a binary operator of strength `level`; a right operand of the same
/// strength is parenthesized, since `and` and `or` associate to the left.
fn write_operand(out: &mut String, e: &Expr, level: u8, right: bool) {
    let s = strength(e);
    if s < level || (right && s == level) {
        out.push('(');
        write_expr(out, e);
        out.push(')');
    } else {
        write_expr(out, e);
    }
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => write_string(out, s),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::DateTimeMs(ms) => out.push_str(&format_rfc3339(*ms)),
        Value::Null => out.push_str("null"),
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('\'');
    out.push_str(&s.replace('\'', "''"));
    out.push('\'');
}

// ---------------------------------------------------------------------------------------
// Evaluation

/// Does the record whose fields `get` reads satisfy `expr`?
///
/// - Strings (also enumeration values and GUIDs) compare without regard to ASCII case,
///   for `eq`, `ne` and `startswith`. Microsoft documents no case rule for the sign-in
///   and audit logs, and OData's specification makes `eq` exact and `startswith`
///   case-sensitive; but Entra ID is reported to compare directory strings without
///   regard to case, and the values filtered here are case-insensitive identifiers (a
///   UPN, a GUID) or display names, so `userPrincipalName eq 'Alice@Contoso.com'` finds
///   `alice@contoso.com`. ASCII only, as SQLite's `NOCASE` and `lower()`: a query pushed
///   down to the store with those gives the same answer as this evaluator.
/// - `null` follows MS-ODATA's lifted operators (§2.2.3.6.1.1.5): `null eq null` holds,
///   `null` is unequal to every other value, `gt ge lt le` with a `null` operand are
///   false, and `and`/`or`/`not` see only true and false. So
///   `not (status/errorCode gt 0)` holds for a record without an error code. (A SQL
///   translation must do the same: `IS`/`IS NOT` for `eq`/`ne`, and
///   `coalesce(x > v, 0)` under `not`.)
/// - A value of another kind than the literal's is unequal to it and unordered.
/// - [`Field::TargetResourcesDisplayName`] is a collection: `get` returns its one value
///   here (`Null` for none); a record with several uses [`matches_with_collections`].
pub fn matches(expr: &Expr, get: &dyn Fn(Field) -> Value) -> bool {
    matches_with_collections(expr, get, &|field| match get(field) {
        Value::Null => Vec::new(),
        v => vec![v],
    })
}

/// [`matches()`] for records whose collection fields ([`Field::is_collection`]) hold
/// several values: `get_all` lists them, and a condition on such a field holds if it
/// holds for any of them (an empty list satisfies none), as Graph's `any`.
pub fn matches_with_collections(
    expr: &Expr,
    get: &dyn Fn(Field) -> Value,
    get_all: &dyn Fn(Field) -> Vec<Value>,
) -> bool {
    let m = |e: &Expr| matches_with_collections(e, get, get_all);
    match expr {
        Expr::Cmp { field, op, value } if field.is_collection() => {
            get_all(*field).iter().any(|v| compare(v, *op, value))
        }
        Expr::Cmp { field, op, value } => compare(&get(*field), *op, value),
        Expr::StartsWith { field, prefix } if field.is_collection() => {
            get_all(*field).iter().any(|v| starts_with(v, prefix))
        }
        Expr::StartsWith { field, prefix } => starts_with(&get(*field), prefix),
        Expr::And(a, b) => m(a) && m(b),
        Expr::Or(a, b) => m(a) || m(b),
        Expr::Not(a) => !m(a),
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

fn compare(record: &Value, op: Op, literal: &Value) -> bool {
    let ordering = match (record, literal) {
        (Value::Int(a), Value::Int(b)) | (Value::DateTimeMs(a), Value::DateTimeMs(b)) => {
            Some(a.cmp(b))
        }
        _ => None,
    };
    match op {
        Op::Eq => equal(record, literal),
        Op::Ne => !equal(record, literal),
        Op::Gt => ordering.is_some_and(|o| o.is_gt()),
        Op::Ge => ordering.is_some_and(|o| o.is_ge()),
        Op::Lt => ordering.is_some_and(|o| o.is_lt()),
        Op::Le => ordering.is_some_and(|o| o.is_le()),
    }
}

fn starts_with(record: &Value, prefix: &str) -> bool {
    match record {
        Value::String(s) => s
            .as_bytes()
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes())),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T_2026_12_01: i64 = 1_796_083_200_000;

    fn sign_ins(s: &str) -> Expr {
        match parse(Log::SignIns, s) {
            Ok(e) => e,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn audits(s: &str) -> Expr {
        match parse(Log::DirectoryAudits, s) {
            Ok(e) => e,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    /// The error for `s` on `log`, checked to be at `position` and to contain `words`.
    fn refused(log: Log, s: &str, position: usize, words: &str) -> FilterError {
        match parse(log, s) {
            Ok(e) => panic!("{s:?} should be refused, parsed as {e:?}"),
            Err(e) => {
                assert_eq!(e.position, position, "{s:?}: {e}");
                assert!(e.message.contains(words), "{s:?}: {e}\nexpected: {words}");
                e
            }
        }
    }

    fn cmp(field: Field, op: Op, value: Value) -> Expr {
        Expr::Cmp { field, op, value }
    }

    fn s(v: &str) -> Value {
        Value::String(v.to_string())
    }

    fn and(a: Expr, b: Expr) -> Expr {
        Expr::And(Box::new(a), Box::new(b))
    }

    fn or(a: Expr, b: Expr) -> Expr {
        Expr::Or(Box::new(a), Box::new(b))
    }

    fn not(a: Expr) -> Expr {
        Expr::Not(Box::new(a))
    }

    fn code(n: i64) -> Expr {
        cmp(Field::StatusErrorCode, Op::Eq, Value::Int(n))
    }

    // --- Graph's examples -------------------------------------------------------------

    #[test]
    fn graph_sign_in_examples() {
        assert_eq!(
            sign_ins(
                "createdDateTime ge 2024-07-01T00:00:00Z and createdDateTime le 2024-07-14T23:59:59Z"
            ),
            and(
                cmp(Field::CreatedDateTime, Op::Ge, Value::DateTimeMs(1_719_792_000_000)),
                cmp(Field::CreatedDateTime, Op::Le, Value::DateTimeMs(1_721_001_599_000)),
            )
        );
        assert_eq!(
            sign_ins("startswith(appDisplayName,'Graph')"),
            Expr::StartsWith {
                field: Field::AppDisplayName,
                prefix: "Graph".into()
            }
        );
        assert_eq!(sign_ins("status/errorCode eq 50126"), code(50126));
        assert_eq!(
            sign_ins("userId eq 'd3ed2b2d-1f92-4f49-b0ff-b10e2c5e5c7e'"),
            cmp(
                Field::UserId,
                Op::Eq,
                s("d3ed2b2d-1f92-4f49-b0ff-b10e2c5e5c7e")
            )
        );
        assert_eq!(
            sign_ins("conditionalAccessStatus eq 'failure'"),
            cmp(Field::ConditionalAccessStatus, Op::Eq, s("failure"))
        );
        assert_eq!(
            sign_ins("isInteractive eq false"),
            cmp(Field::IsInteractive, Op::Eq, Value::Bool(false))
        );
        assert_eq!(
            sign_ins("createdDateTime ge 2026-12-01T00:00:00Z and status/errorCode ne 0"),
            and(
                cmp(
                    Field::CreatedDateTime,
                    Op::Ge,
                    Value::DateTimeMs(T_2026_12_01)
                ),
                cmp(Field::StatusErrorCode, Op::Ne, Value::Int(0)),
            )
        );
        // Graph's PowerShell examples spell the function startsWith.
        assert_eq!(
            sign_ins("startsWith(userPrincipalName,'JNiyomugabo@Contoso.com')"),
            Expr::StartsWith {
                field: Field::UserPrincipalName,
                prefix: "JNiyomugabo@Contoso.com".into()
            }
        );
        assert_eq!(
            sign_ins("appId eq 'de8bc8b5-d9f9-48b1-a8ad-b748da725064'"),
            cmp(
                Field::AppId,
                Op::Eq,
                s("de8bc8b5-d9f9-48b1-a8ad-b748da725064")
            )
        );
    }

    #[test]
    fn every_sign_in_field_parses() {
        for (text, field) in [
            ("userPrincipalName eq 'a@b'", Field::UserPrincipalName),
            ("appDisplayName eq 'x'", Field::AppDisplayName),
            ("resourceId eq 'x'", Field::ResourceId),
            ("ipAddress eq '203.0.113.7'", Field::IpAddress),
            ("correlationId eq 'x'", Field::CorrelationId),
            ("clientAppUsed eq 'Browser'", Field::ClientAppUsed),
            ("id eq 'x'", Field::Id),
        ] {
            assert!(
                matches!(sign_ins(text), Expr::Cmp { field: f, .. } if f == field),
                "{text}"
            );
        }
        assert_eq!(Log::SignIns.fields().len(), 13);
    }

    #[test]
    fn directory_audit_examples() {
        assert_eq!(
            audits("activityDateTime ge 2026-12-01T00:00:00Z and result eq 'failure'"),
            and(
                cmp(
                    Field::ActivityDateTime,
                    Op::Ge,
                    Value::DateTimeMs(T_2026_12_01)
                ),
                cmp(Field::Result, Op::Eq, s("failure")),
            )
        );
        assert_eq!(
            audits("initiatedBy/user/userPrincipalName eq 'admin@contoso.com'"),
            cmp(
                Field::InitiatedByUserPrincipalName,
                Op::Eq,
                s("admin@contoso.com")
            )
        );
        assert_eq!(
            audits("startswith(initiatedBy/user/userPrincipalName,'admin')"),
            Expr::StartsWith {
                field: Field::InitiatedByUserPrincipalName,
                prefix: "admin".into()
            }
        );
        assert_eq!(
            audits("initiatedBy/app/appId eq 'de8bc8b5-d9f9-48b1-a8ad-b748da725064'"),
            cmp(
                Field::InitiatedByAppId,
                Op::Eq,
                s("de8bc8b5-d9f9-48b1-a8ad-b748da725064")
            )
        );
        assert_eq!(
            audits("category eq 'UserManagement' and activityDisplayName eq 'Add user'"),
            and(
                cmp(Field::Category, Op::Eq, s("UserManagement")),
                cmp(Field::ActivityDisplayName, Op::Eq, s("Add user")),
            )
        );
        assert_eq!(
            audits("id eq 'Directory_1' or correlationId eq 'x'"),
            or(
                cmp(Field::Id, Op::Eq, s("Directory_1")),
                cmp(Field::CorrelationId, Op::Eq, s("x")),
            )
        );
    }

    #[test]
    fn target_resources_any() {
        let eq = cmp(Field::TargetResourcesDisplayName, Op::Eq, s("Sales"));
        assert_eq!(
            audits("targetResources/any(t: t/displayName eq 'Sales')"),
            eq
        );
        assert_eq!(
            audits("targetResources/any(x:x/displayName eq 'Sales')"),
            eq
        );
        assert_eq!(
            audits("targetResources/any( res : res/displayName eq 'Sales' )"),
            eq
        );
        assert_eq!(
            audits("targetResources/any(t: startswith(t/displayName,'Sal'))"),
            Expr::StartsWith {
                field: Field::TargetResourcesDisplayName,
                prefix: "Sal".into()
            }
        );
        assert_eq!(
            audits("not targetResources/any(t: t/displayName ne null)"),
            not(cmp(Field::TargetResourcesDisplayName, Op::Ne, Value::Null))
        );
        assert_eq!(
            to_odata(&eq),
            "targetResources/any(t: t/displayName eq 'Sales')"
        );
    }

    #[test]
    fn unquoted_guids_on_identifier_fields() {
        let g = "5b7a6a4e-0c8b-4a47-a2b8-9f4b1d2e3c4d";
        assert_eq!(
            sign_ins(&format!("correlationId eq {g}")),
            cmp(Field::CorrelationId, Op::Eq, s(g))
        );
        // A GUID that starts with a letter lexes as a name; still a GUID.
        let g2 = "de8bc8b5-d9f9-48b1-a8ad-b748da725064";
        assert_eq!(
            sign_ins(&format!("appId eq {g2}")),
            cmp(Field::AppId, Op::Eq, s(g2))
        );
        assert_eq!(
            audits(&format!("correlationId eq {g}")),
            cmp(Field::CorrelationId, Op::Eq, s(g))
        );
        refused(
            Log::SignIns,
            &format!("userPrincipalName eq {g}"),
            21,
            &format!("userPrincipalName takes a quoted string: write '{g}'"),
        );
        refused(
            Log::SignIns,
            "userId eq 5b7a6a4e",
            10,
            "expected a quoted string or a GUID like",
        );
    }

    // --- precedence --------------------------------------------------------------------

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            sign_ins("status/errorCode eq 1 or status/errorCode eq 2 and status/errorCode eq 3"),
            or(code(1), and(code(2), code(3)))
        );
        assert_eq!(
            sign_ins("status/errorCode eq 1 and status/errorCode eq 2 or status/errorCode eq 3"),
            or(and(code(1), code(2)), code(3))
        );
    }

    #[test]
    fn and_and_or_associate_to_the_left() {
        let e = "status/errorCode eq 1 and status/errorCode eq 2 and status/errorCode eq 3";
        assert_eq!(sign_ins(e), and(and(code(1), code(2)), code(3)));
        let e = "status/errorCode eq 1 or status/errorCode eq 2 or status/errorCode eq 3";
        assert_eq!(sign_ins(e), or(or(code(1), code(2)), code(3)));
    }

    #[test]
    fn parentheses_group() {
        assert_eq!(
            sign_ins("(status/errorCode eq 1 or status/errorCode eq 2) and status/errorCode eq 3"),
            and(or(code(1), code(2)), code(3))
        );
        assert_eq!(
            sign_ins("status/errorCode eq 1 and (status/errorCode eq 2 or status/errorCode eq 3)"),
            and(code(1), or(code(2), code(3)))
        );
        assert_eq!(sign_ins("((( status/errorCode eq 1 )))"), code(1));
    }

    #[test]
    fn not_binds_tightest() {
        let sw = Expr::StartsWith {
            field: Field::AppDisplayName,
            prefix: "Graph".into(),
        };
        assert_eq!(
            sign_ins("not startswith(appDisplayName,'Graph') or status/errorCode eq 1"),
            or(not(sw.clone()), code(1))
        );
        assert_eq!(
            sign_ins("not (startswith(appDisplayName,'Graph') or status/errorCode eq 1)"),
            not(or(sw.clone(), code(1)))
        );
        assert_eq!(sign_ins("not (status/errorCode eq 1)"), not(code(1)));
        assert_eq!(sign_ins("not(status/errorCode eq 1)"), not(code(1)));
        assert_eq!(
            sign_ins("not not startswith(appDisplayName,'Graph')"),
            not(not(sw))
        );
        assert_eq!(
            sign_ins("status/errorCode eq 1 and not (status/errorCode eq 2)"),
            and(code(1), not(code(2)))
        );
    }

    #[test]
    fn a_boolean_field_alone_means_eq_true() {
        let yes = cmp(Field::IsInteractive, Op::Eq, Value::Bool(true));
        assert_eq!(sign_ins("isInteractive"), yes);
        assert_eq!(sign_ins("not isInteractive"), not(yes.clone()));
        assert_eq!(
            sign_ins("isInteractive and status/errorCode eq 0"),
            and(yes.clone(), code(0))
        );
        assert_eq!(sign_ins("(isInteractive)"), yes);
    }

    // --- literals ----------------------------------------------------------------------

    #[test]
    fn strings_escape_quotes_by_doubling() {
        assert_eq!(
            sign_ins("userPrincipalName eq 'o''brien@contoso.com'"),
            cmp(Field::UserPrincipalName, Op::Eq, s("o'brien@contoso.com"))
        );
        assert_eq!(
            sign_ins("appDisplayName eq ''"),
            cmp(Field::AppDisplayName, Op::Eq, s(""))
        );
        assert_eq!(
            sign_ins("appDisplayName eq ''''"),
            cmp(Field::AppDisplayName, Op::Eq, s("'"))
        );
        assert_eq!(
            sign_ins("appDisplayName eq 'a (b) and c eq ''d'''"),
            cmp(Field::AppDisplayName, Op::Eq, s("a (b) and c eq 'd'"))
        );
        assert_eq!(
            sign_ins("appDisplayName eq 'Åtkomst – 東京'"),
            cmp(Field::AppDisplayName, Op::Eq, s("Åtkomst – 東京"))
        );
    }

    #[test]
    fn integers_and_null() {
        assert_eq!(
            sign_ins("status/errorCode gt -1"),
            cmp(Field::StatusErrorCode, Op::Gt, Value::Int(-1))
        );
        assert_eq!(
            sign_ins("status/errorCode le 9223372036854775807"),
            cmp(Field::StatusErrorCode, Op::Le, Value::Int(i64::MAX))
        );
        assert_eq!(
            sign_ins("status/errorCode ge -9223372036854775808"),
            cmp(Field::StatusErrorCode, Op::Ge, Value::Int(i64::MIN))
        );
        assert_eq!(
            sign_ins("userId eq null"),
            cmp(Field::UserId, Op::Eq, Value::Null)
        );
        assert_eq!(
            sign_ins("createdDateTime ne null"),
            cmp(Field::CreatedDateTime, Op::Ne, Value::Null)
        );
        assert_eq!(
            sign_ins("conditionalAccessStatus eq null"),
            cmp(Field::ConditionalAccessStatus, Op::Eq, Value::Null)
        );
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        refused(
            Log::SignIns,
            "appDisplayName eq 'Åtkomst 東京' and nope eq 1",
            35,
            "'nope' is not a field of signIns",
        );
    }

    #[test]
    fn function_names_are_fields_when_not_called() {
        refused(
            Log::SignIns,
            "date eq 1",
            0,
            "'date' is not a field of signIns",
        );
        refused(
            Log::DirectoryAudits,
            "targetresources/any(t: t/displayName eq 'x')",
            0,
            "must be written 'targetResources/any'",
        );
    }

    #[test]
    fn whitespace_is_free() {
        assert_eq!(sign_ins("  status/errorCode\teq\r\n0  "), code(0));
        assert_eq!(
            sign_ins("startswith( appDisplayName , 'Graph' )"),
            Expr::StartsWith {
                field: Field::AppDisplayName,
                prefix: "Graph".into()
            }
        );
    }

    #[test]
    fn rfc_3339_date_times() {
        let ms = |t: &str| parse_rfc3339(t).map_err(|(at, why)| format!("{at}: {why}"));
        assert_eq!(ms("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(ms("2026-12-01T00:00:00Z"), Ok(T_2026_12_01));
        assert_eq!(ms("2026-12-01t00:00:00z"), Ok(T_2026_12_01));
        assert_eq!(ms("2026-12-01T01:00:00+01:00"), Ok(T_2026_12_01));
        assert_eq!(ms("2026-11-30T19:00:00-05:00"), Ok(T_2026_12_01));
        assert_eq!(ms("2026-12-01T00:00:00-00:00"), Ok(T_2026_12_01));
        assert_eq!(ms("2026-12-01T05:30:00+05:30"), Ok(T_2026_12_01));
        assert_eq!(ms("1969-12-31T23:59:59.999Z"), Ok(-1));
        assert_eq!(ms("2000-02-29T12:00:00Z"), Ok(951_825_600_000));
        assert_eq!(ms("0000-01-01T00:00:00Z"), Ok(MIN_DATETIME_MS));
        assert_eq!(ms("0001-01-01T00:00:00Z"), Ok(-62_135_596_800_000));
        assert_eq!(ms("9999-12-31T23:59:59.999Z"), Ok(MAX_DATETIME_MS));
        // Fractions: 1-9 digits, truncated to milliseconds.
        assert_eq!(ms("1970-01-01T00:00:00.5Z"), Ok(500));
        assert_eq!(ms("1970-01-01T00:00:00.12Z"), Ok(120));
        assert_eq!(ms("1970-01-01T00:00:00.1239Z"), Ok(123));
        assert_eq!(ms("2020-03-13T19:15:41.6195833Z"), Ok(1_584_126_941_619));
        assert_eq!(ms("1970-01-01T00:00:00.999999999Z"), Ok(999));

        for (bad, at, why) in [
            ("2026-12-01", 10, "a date alone is not enough"),
            ("2026-13-01T00:00:00Z", 5, "month 13 does not exist"),
            ("2026-00-01T00:00:00Z", 5, "month 00 does not exist"),
            ("2023-02-29T00:00:00Z", 8, "2023-02 has no day 29"),
            ("1900-02-29T00:00:00Z", 8, "1900-02 has no day 29"),
            ("2026-04-31T00:00:00Z", 8, "has no day 31"),
            ("2026-12-01T24:00:00Z", 11, "hour 24"),
            ("2026-12-01T00:60:00Z", 14, "minute 60"),
            ("2026-12-31T23:59:60Z", 17, "leap second"),
            ("2026-12-01T00:00:00", 19, "the offset is missing"),
            ("2026-12-01T00:00Z", 16, "expected ':' after the minute"),
            ("2026-12-01T00:00:00.Z", 20, "expected digits after '.'"),
            ("2026-12-01T00:00:00.1234567890Z", 29, "at most 9 digits"),
            (
                "2026-12-01T00:00:00+0100",
                22,
                "expected ':' after the offset's hours",
            ),
            (
                "2026-12-01T00:00:00+01",
                22,
                "expected ':' after the offset's hours",
            ),
            ("2026-12-01T00:00:00+24:00", 20, "24 hours"),
            ("2026-12-01T00:00:00+01:60", 23, "60 minutes"),
            ("2026-12-01T00:00:00ZZ", 20, "unexpected characters"),
            ("2026-12-01 00:00:00Z", 10, "expected 'T'"),
            ("26-12-01T00:00:00Z", 0, "4 digits of the year"),
            ("2026-1-01T00:00:00Z", 5, "2 digits of the month"),
            (
                "0000-01-01T00:00:00+00:01",
                0,
                "outside the years 0000-9999",
            ),
            (
                "9999-12-31T23:59:59-00:01",
                0,
                "outside the years 0000-9999",
            ),
        ] {
            match parse_rfc3339(bad) {
                Ok(v) => panic!("{bad} should be refused, got {v}"),
                Err((a, w)) => {
                    assert_eq!(a, at, "{bad}: {w}");
                    assert!(w.contains(why), "{bad}: {w}");
                }
            }
        }
    }

    #[test]
    fn date_times_print_in_utc() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(T_2026_12_01), "2026-12-01T00:00:00Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            format_rfc3339(1_584_126_941_619),
            "2020-03-13T19:15:41.619Z"
        );
        assert_eq!(format_rfc3339(MIN_DATETIME_MS), "0000-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(MAX_DATETIME_MS), "9999-12-31T23:59:59.999Z");
    }

    // --- errors ------------------------------------------------------------------------

    #[test]
    fn error_display_names_the_position() {
        let e = refused(
            Log::SignIns,
            "status/errorCode eq",
            19,
            "expected an integer",
        );
        assert_eq!(
            e.to_string(),
            "at position 19: expected an integer like 50126 after 'eq', found the end of the filter"
        );
    }

    #[test]
    fn empty_input() {
        refused(
            Log::SignIns,
            "",
            0,
            "the filter is empty; write a condition such as createdDateTime ge",
        );
        refused(Log::SignIns, "   ", 3, "the filter is empty");
        refused(Log::DirectoryAudits, "", 0, "such as activityDateTime ge");
    }

    #[test]
    fn too_long() {
        let long = format!("appDisplayName eq '{}'", "x".repeat(MAX_INPUT_CHARS));
        refused(
            Log::SignIns,
            &long,
            MAX_INPUT_CHARS,
            "at most 2000 are accepted",
        );
        // Characters, not bytes: 2,000 two-byte characters are accepted.
        let wide = format!("appDisplayName eq '{}'", "é".repeat(MAX_INPUT_CHARS - 20));
        assert!(parse(Log::SignIns, &wide).is_ok());
    }

    #[test]
    fn too_deep() {
        let deep = format!("{}status/errorCode eq 0{}", "(".repeat(33), ")".repeat(33));
        refused(Log::SignIns, &deep, 32, "more than 32 levels");
        let ok = format!("{}status/errorCode eq 0{}", "(".repeat(32), ")".repeat(32));
        assert_eq!(sign_ins(&ok), code(0));
        let nots = format!("{}isInteractive", "not ".repeat(33));
        refused(Log::SignIns, &nots, 128, "more than 32 levels");
        let mixed = format!("{}isInteractive{}", "not (".repeat(17), ")".repeat(17));
        refused(Log::SignIns, &mixed, 5 * 16, "more than 32 levels");
        // A long flat chain is not nesting.
        let chain = vec!["isInteractive"; 100].join(" and ");
        assert!(parse(Log::SignIns, &chain).is_ok());
    }

    #[test]
    fn unknown_fields() {
        refused(
            Log::SignIns,
            "createdDateTime ge 2026-12-01T00:00:00Z and status/errorcode ne 0",
            44,
            "'status/errorcode' is not a field of signIns; did you mean 'status/errorCode'? \
             (field names are case-sensitive)",
        );
        let e = refused(
            Log::SignIns,
            "userDisplayName eq 'x'",
            0,
            "'userDisplayName' is not a field of signIns; filterable fields: createdDateTime, \
             userPrincipalName,",
        );
        assert!(e.message.ends_with("clientAppUsed, id"), "{e}");
        refused(
            Log::SignIns,
            "activityDateTime ge 2026-12-01T00:00:00Z",
            0,
            "'activityDateTime' is a field of directoryAudits, not of signIns",
        );
        let e = refused(
            Log::DirectoryAudits,
            "createdDateTime ge 2026-12-01T00:00:00Z",
            0,
            "'createdDateTime' is a field of signIns, not of directoryAudits",
        );
        assert!(
            e.message
                .contains("targetResources/any(t: t/displayName …)"),
            "{e}"
        );
        refused(
            Log::SignIns,
            "targetResources/any(t: t/displayName eq 'x')",
            0,
            "not a field of signIns",
        );
        refused(
            Log::SignIns,
            "startswith(appdisplayname,'x')",
            11,
            "did you mean 'appDisplayName'?",
        );
    }

    #[test]
    fn keywords_are_lowercase() {
        refused(
            Log::SignIns,
            "isInteractive AND status/errorCode eq 0",
            14,
            "'AND' must be written 'and': OData keywords are lowercase",
        );
        refused(
            Log::SignIns,
            "isInteractive Or isInteractive",
            14,
            "'Or' must be written 'or'",
        );
        refused(
            Log::SignIns,
            "NOT isInteractive",
            0,
            "'NOT' must be written 'not'",
        );
        refused(
            Log::SignIns,
            "status/errorCode EQ 0",
            17,
            "'EQ' must be written 'eq'",
        );
        refused(
            Log::SignIns,
            "isInteractive Eq true",
            14,
            "'Eq' must be written 'eq'",
        );
        refused(
            Log::SignIns,
            "isInteractive eq TRUE",
            17,
            "'TRUE' must be written 'true'",
        );
        refused(
            Log::SignIns,
            "userId eq NULL",
            10,
            "'NULL' must be written 'null'",
        );
        refused(
            Log::SignIns,
            "StartsWith(appDisplayName,'x')",
            0,
            "write startswith",
        );
        refused(
            Log::DirectoryAudits,
            "targetResources/any(t: t/displayName EQ 'x')",
            37,
            "'EQ' must be written 'eq'",
        );
    }

    #[test]
    fn date_time_values() {
        refused(
            Log::SignIns,
            "createdDateTime ge yesterday",
            19,
            "expected an RFC 3339 date-time like 2026-12-01T00:00:00Z after 'ge', found 'yesterday'",
        );
        refused(
            Log::SignIns,
            "createdDateTime ge '2026-12-01T00:00:00Z'",
            19,
            "date-times are not quoted in OData: write 2026-12-01T00:00:00Z without the quotes",
        );
        refused(
            Log::SignIns,
            "createdDateTime ge 2026-12-01",
            29,
            "a date alone is not enough; add the time and offset, as in 2026-12-01T00:00:00Z",
        );
        refused(
            Log::SignIns,
            "createdDateTime ge 2026-13-01T00:00:00Z",
            24,
            "'2026-13-01T00:00:00Z' is not an RFC 3339 date-time: month 13 does not exist",
        );
        // '+' decoded from a URL as a space.
        refused(
            Log::SignIns,
            "createdDateTime ge 2026-12-01T00:00:00 01:00",
            38,
            "'+' is written %2B",
        );
        refused(
            Log::SignIns,
            "createdDateTime ge 1796083200000",
            23,
            "expected '-' after the year",
        );
    }

    #[test]
    fn integer_values() {
        refused(
            Log::SignIns,
            "status/errorCode eq '50126'",
            20,
            "integers are not quoted in OData: write 50126 without the quotes",
        );
        refused(
            Log::SignIns,
            "status/errorCode eq 9223372036854775808",
            20,
            "does not fit in a 64-bit integer",
        );
        refused(
            Log::SignIns,
            "status/errorCode eq 1.5",
            20,
            "expected an integer like 50126 after 'eq', found '1.5'",
        );
        refused(
            Log::SignIns,
            "status/errorCode eq +1",
            20,
            "unexpected character '+'",
        );
    }

    #[test]
    fn boolean_values() {
        refused(
            Log::SignIns,
            "isInteractive eq 'false'",
            17,
            "booleans are not quoted in OData: write false without the quotes",
        );
        refused(
            Log::SignIns,
            "isInteractive eq 1",
            17,
            "expected true or false after 'eq', found '1'",
        );
    }

    #[test]
    fn enumeration_values() {
        refused(
            Log::SignIns,
            "conditionalAccessStatus eq 'Failure'",
            27,
            "'Failure' is not a value of conditionalAccessStatus; did you mean 'failure'? \
             (values are case-sensitive)",
        );
        refused(
            Log::SignIns,
            "conditionalAccessStatus eq 'blocked'",
            27,
            "expected one of 'success', 'failure', 'notApplied', 'unknownFutureValue'",
        );
        refused(
            Log::SignIns,
            "conditionalAccessStatus eq failure",
            27,
            "enumeration values are quoted in OData: write 'failure'",
        );
        refused(
            Log::DirectoryAudits,
            "result eq 'timedOut'",
            10,
            "'success', 'failure', 'timeout', 'unknownFutureValue'",
        );
    }

    #[test]
    fn string_values() {
        refused(
            Log::SignIns,
            "userPrincipalName eq alice",
            21,
            "expected a quoted string like 'alice@contoso.com' after 'eq', found 'alice'",
        );
        refused(
            Log::SignIns,
            "appDisplayName eq 5",
            18,
            "expected a quoted string like 'Graph Explorer'",
        );
        refused(
            Log::SignIns,
            "appDisplayName eq \"Graph\"",
            18,
            "strings are quoted with single quotes in OData",
        );
        refused(
            Log::SignIns,
            "appDisplayName eq 'Graph",
            18,
            "the string that starts here is never closed",
        );
    }

    #[test]
    fn ordering_operators_take_dates_and_integers_only() {
        refused(
            Log::SignIns,
            "userPrincipalName ge 'a'",
            18,
            "'ge' orders date-times and integers only, and userPrincipalName is a string; \
             (Graph allows ge and le on a few string properties; Portvakt does not)",
        );
        refused(
            Log::SignIns,
            "conditionalAccessStatus lt 'success'",
            24,
            "conditionalAccessStatus is an enumeration",
        );
        refused(Log::SignIns, "isInteractive gt false", 14, "use eq or ne");
        refused(
            Log::DirectoryAudits,
            "targetResources/any(t: t/displayName gt 'a')",
            37,
            "'gt' orders date-times and integers only",
        );
        assert!(parse(Log::SignIns, "createdDateTime lt 2026-12-01T00:00:00Z").is_ok());
        assert!(parse(Log::SignIns, "status/errorCode gt 0").is_ok());
    }

    #[test]
    fn null_goes_with_eq_and_ne_only() {
        refused(
            Log::SignIns,
            "createdDateTime ge null",
            19,
            "null compares only with eq or ne, not with 'ge'",
        );
        refused(
            Log::SignIns,
            "status/errorCode lt null",
            20,
            "null compares only",
        );
    }

    #[test]
    fn startswith_errors() {
        refused(
            Log::SignIns,
            "startswith(status/errorCode,'5')",
            11,
            "startswith applies to string fields only, and status/errorCode is an integer",
        );
        refused(
            Log::SignIns,
            "startswith(conditionalAccessStatus,'fail')",
            11,
            "conditionalAccessStatus is an enumeration",
        );
        refused(
            Log::SignIns,
            "startswith(appDisplayName 'Graph')",
            26,
            "expected ',' between the field and the prefix",
        );
        refused(
            Log::SignIns,
            "startswith(appDisplayName,Graph)",
            26,
            "expected the prefix as a quoted string",
        );
        refused(
            Log::SignIns,
            "startswith appDisplayName",
            11,
            "expected '(' after 'startswith'",
        );
        refused(
            Log::SignIns,
            "startswith(appDisplayName,'Graph'",
            10,
            "this '(' is never closed: the filter ends at position 33",
        );
        refused(
            Log::SignIns,
            "startswith(appDisplayName,'Graph',1)",
            33,
            "expected ')' to close startswith( at position 0",
        );
        refused(
            Log::SignIns,
            "endswith(appDisplayName,'Graph')",
            0,
            "'endswith' is not supported; of OData's functions, the signIns filter supports only startswith",
        );
        refused(
            Log::SignIns,
            "contains(appDisplayName,'x')",
            0,
            "'contains' is not supported",
        );
    }

    #[test]
    fn parentheses_must_balance() {
        refused(
            Log::SignIns,
            "(status/errorCode eq 1 or isInteractive",
            0,
            "this '(' is never closed: the filter ends at position 39; add ')'",
        );
        refused(
            Log::SignIns,
            "status/errorCode eq 1)",
            21,
            "unbalanced ')': no '(' is open here",
        );
        refused(
            Log::SignIns,
            "()",
            1,
            "expected a condition (a field name, 'not', 'startswith' or '('), found ')'",
        );
        refused(
            Log::SignIns,
            "(isInteractive status/errorCode eq 0)",
            15,
            "expected an operator (eq, ne, gt, ge, lt or le) after 'isInteractive'",
        );
        refused(
            Log::SignIns,
            "(status/errorCode eq 1 status/errorCode eq 2)",
            23,
            "expected 'and', 'or' or ')', found 'status/errorCode'",
        );
    }

    #[test]
    fn trailing_input() {
        refused(
            Log::SignIns,
            "status/errorCode eq 0 status/errorCode eq 1",
            22,
            "unexpected 'status/errorCode' after a complete condition; join conditions with \
             'and' or 'or'",
        );
        refused(
            Log::SignIns,
            "isInteractive eq true ,",
            22,
            "unexpected ','",
        );
        refused(
            Log::SignIns,
            "startswith(appDisplayName,'x') eq true",
            31,
            "unexpected 'eq' after a complete condition",
        );
    }

    #[test]
    fn missing_pieces() {
        refused(
            Log::SignIns,
            "status/errorCode",
            16,
            "expected an operator (eq, ne, gt, ge, lt or le) after 'status/errorCode', found \
             the end of the filter",
        );
        refused(
            Log::SignIns,
            "status/errorCode eq 0 and",
            25,
            "expected a condition (a field name, 'not', 'startswith' or '('), found the end",
        );
        refused(
            Log::SignIns,
            "and isInteractive",
            0,
            "expected a condition before 'and'",
        );
        refused(Log::SignIns, "not", 3, "expected a condition");
        refused(Log::SignIns, "'x' eq userId", 0, "found the string 'x'");
        refused(
            Log::SignIns,
            "true",
            0,
            "expected a condition, found 'true'",
        );
    }

    #[test]
    fn operators_not_in_odata() {
        refused(
            Log::SignIns,
            "status/errorCode = 0",
            17,
            "'=' is not an OData operator",
        );
        refused(
            Log::SignIns,
            "status/errorCode != 0",
            17,
            "'!' is not an OData operator",
        );
        refused(
            Log::SignIns,
            "isInteractive && isInteractive",
            14,
            "join conditions with 'and'",
        );
        refused(
            Log::SignIns,
            "status/errorCode in (0, 1)",
            17,
            "the 'in' operator is not supported; join eq conditions with 'or'",
        );
        refused(
            Log::SignIns,
            "status/errorCode eq 0 % 1",
            22,
            "unexpected character '%'",
        );
    }

    #[test]
    fn not_binds_tighter_than_a_comparison() {
        refused(
            Log::SignIns,
            "not status/errorCode eq 0",
            21,
            "'not' binds tighter than 'eq' in OData, so this reads as (not status/errorCode) \
             eq …; write not (status/errorCode eq …)",
        );
        refused(
            Log::SignIns,
            "not isInteractive eq false",
            18,
            "write not (isInteractive eq …)",
        );
    }

    #[test]
    fn target_resources_errors() {
        refused(
            Log::DirectoryAudits,
            "targetResources/displayName eq 'x'",
            0,
            "targetResources is a collection; write targetResources/any(t: t/displayName eq",
        );
        refused(
            Log::DirectoryAudits,
            "targetResources/all(t: t/displayName eq 'x')",
            0,
            "targetResources is a collection",
        );
        refused(
            Log::DirectoryAudits,
            "startswith(targetResources/displayName,'x')",
            11,
            "targetResources/any(t: startswith(t/displayName,'Sal'))",
        );
        refused(
            Log::DirectoryAudits,
            "targetResources/any(t: t/displayName eq 'a' and t/displayName eq 'b')",
            44,
            "only one condition is supported inside targetResources/any(…) at position 0; \
             join several any(…) with 'and' instead",
        );
        refused(
            Log::DirectoryAudits,
            "targetResources/any(t: t/type eq 'User')",
            23,
            "only t/displayName can be filtered inside targetResources/any(…), not 't/type'",
        );
        refused(
            Log::DirectoryAudits,
            "targetResources/any(t t/displayName eq 'x')",
            22,
            "expected ':' after the range variable 't'",
        );
        refused(
            Log::DirectoryAudits,
            "targetResources/any(t: x/displayName eq 'x')",
            23,
            "expected t/displayName eq '…' or startswith(t/displayName,'…')",
        );
        refused(
            Log::DirectoryAudits,
            "targetResources/any(t: startswith(x/displayName,'x'))",
            34,
            "expected t/displayName as the first argument of startswith",
        );
        refused(
            Log::DirectoryAudits,
            "targetResources/any(t: t/displayName eq 'x'",
            19,
            "this '(' is never closed",
        );
        refused(
            Log::DirectoryAudits,
            "targetResources/any()",
            20,
            "expected a range variable such as t",
        );
    }

    // --- printing ----------------------------------------------------------------------

    #[test]
    fn to_odata_prints_only_the_parentheses_needed() {
        for (input, printed) in [
            ("status/errorCode eq 1", "status/errorCode eq 1"),
            (
                "(status/errorCode eq 1) or (status/errorCode eq 2 and status/errorCode eq 3)",
                "status/errorCode eq 1 or status/errorCode eq 2 and status/errorCode eq 3",
            ),
            (
                "(status/errorCode eq 1 or status/errorCode eq 2) and status/errorCode eq 3",
                "(status/errorCode eq 1 or status/errorCode eq 2) and status/errorCode eq 3",
            ),
            (
                "status/errorCode eq 1 or (status/errorCode eq 2 or status/errorCode eq 3)",
                "status/errorCode eq 1 or (status/errorCode eq 2 or status/errorCode eq 3)",
            ),
            ("not(status/errorCode eq 1)", "not (status/errorCode eq 1)"),
            (
                "not startsWith( appDisplayName , 'O''Neil' )",
                "not startswith(appDisplayName,'O''Neil')",
            ),
            ("isInteractive", "isInteractive eq true"),
            (
                "createdDateTime ge 2026-12-01T01:00:00.1234+01:00",
                "createdDateTime ge 2026-12-01T00:00:00.123Z",
            ),
            (
                "correlationId eq 5b7a6a4e-0c8b-4a47-a2b8-9f4b1d2e3c4d",
                "correlationId eq '5b7a6a4e-0c8b-4a47-a2b8-9f4b1d2e3c4d'",
            ),
            ("userId eq null", "userId eq null"),
        ] {
            let e = sign_ins(input);
            assert_eq!(to_odata(&e), printed, "{input}");
            assert_eq!(sign_ins(printed), e, "{printed}");
        }
        let e = audits("not targetResources/any(t: startswith(t/displayName,'a'))");
        assert_eq!(
            to_odata(&e),
            "not targetResources/any(t: startswith(t/displayName,'a'))"
        );
    }

    // --- evaluation --------------------------------------------------------------------

    fn record(field: Field) -> Value {
        match field {
            Field::CreatedDateTime => Value::DateTimeMs(T_2026_12_01 + 3_600_000),
            Field::UserPrincipalName => s("Alice@Contoso.com"),
            Field::AppDisplayName => s("Graph Explorer"),
            Field::StatusErrorCode => Value::Int(50126),
            Field::ConditionalAccessStatus => s("failure"),
            Field::IsInteractive => Value::Bool(true),
            Field::UserId => s("D3ED2B2D-1F92-4F49-B0FF-B10E2C5E5C7E"),
            _ => Value::Null,
        }
    }

    fn holds(filter: &str) -> bool {
        matches(&sign_ins(filter), &record)
    }

    #[test]
    fn matches_compares_values_of_each_kind() {
        assert!(holds("createdDateTime ge 2026-12-01T00:00:00Z"));
        assert!(holds("createdDateTime gt 2026-12-01T00:59:59.999Z"));
        assert!(!holds("createdDateTime lt 2026-12-01T01:00:00Z"));
        assert!(holds("createdDateTime le 2026-12-01T02:00:00+01:00"));
        assert!(holds("createdDateTime eq 2026-12-01T01:00:00Z"));
        assert!(holds("status/errorCode eq 50126"));
        assert!(holds("status/errorCode ne 0"));
        assert!(holds("status/errorCode gt 0 and status/errorCode lt 60000"));
        assert!(holds("isInteractive"));
        assert!(!holds("isInteractive eq false"));
        assert!(holds("conditionalAccessStatus eq 'failure'"));
        assert!(!holds("conditionalAccessStatus eq 'success'"));
    }

    #[test]
    fn matches_ignores_ascii_case_of_strings() {
        assert!(holds("userPrincipalName eq 'alice@contoso.com'"));
        assert!(holds("userPrincipalName eq 'ALICE@CONTOSO.COM'"));
        assert!(!holds("userPrincipalName ne 'alice@contoso.com'"));
        assert!(holds("startswith(userPrincipalName,'alice@')"));
        assert!(holds("startswith(appDisplayName,'graph')"));
        assert!(holds("startswith(appDisplayName,'')"));
        assert!(!holds(
            "startswith(appDisplayName,'Graph Explorer and more')"
        ));
        assert!(holds("userId eq d3ed2b2d-1f92-4f49-b0ff-b10e2c5e5c7e"));
        // Not Unicode folding: as SQLite's NOCASE.
        let get = |_: Field| s("Åsa");
        assert!(!matches(&sign_ins("appDisplayName eq 'åsa'"), &get));
        assert!(matches(&sign_ins("appDisplayName eq 'Åsa'"), &get));
        assert!(!matches(&sign_ins("startswith(appDisplayName,'å')"), &get));
    }

    #[test]
    fn matches_treats_null_as_ms_odata_lifted_operators() {
        assert!(holds("ipAddress eq null"));
        assert!(!holds("ipAddress ne null"));
        assert!(holds("ipAddress ne '203.0.113.7'"));
        assert!(!holds("ipAddress eq '203.0.113.7'"));
        assert!(!holds("startswith(ipAddress,'203.')"));
        assert!(holds("userPrincipalName ne null"));
        let none = |_: Field| Value::Null;
        let gt = sign_ins("status/errorCode gt 0");
        assert!(!matches(&gt, &none));
        assert!(matches(&not(gt), &none));
        assert!(!matches(
            &sign_ins("createdDateTime le 2026-12-01T00:00:00Z"),
            &none
        ));
    }

    #[test]
    fn matches_combines_with_and_or_not() {
        assert!(holds("isInteractive and status/errorCode eq 50126"));
        assert!(!holds("isInteractive and status/errorCode eq 0"));
        assert!(holds("status/errorCode eq 0 or status/errorCode eq 50126"));
        assert!(holds("not (status/errorCode eq 0)"));
        assert!(!holds("not isInteractive"));
        assert!(holds(
            "(startswith(appDisplayName,'Azure') or startswith(appDisplayName,'Graph')) \
             and not (conditionalAccessStatus eq 'success')"
        ));
    }

    #[test]
    fn matches_a_value_of_another_kind_as_unequal() {
        let get = |_: Field| s("50126");
        assert!(!matches(&code(50126), &get));
        assert!(matches(&sign_ins("status/errorCode ne 50126"), &get));
        assert!(!matches(&sign_ins("status/errorCode gt 0"), &get));
    }

    #[test]
    fn matches_any_over_target_resources() {
        let names = |_: Field| vec![s("Alice"), s("Sales")];
        let none = |_: Field| Value::Null;
        let with = |f: &str| matches_with_collections(&audits(f), &none, &names);
        assert!(with("targetResources/any(t: t/displayName eq 'sales')"));
        assert!(!with("targetResources/any(t: t/displayName eq 'Finance')"));
        assert!(with("targetResources/any(t: t/displayName ne 'Sales')"));
        assert!(with(
            "targetResources/any(t: startswith(t/displayName,'Ali'))"
        ));
        assert!(with(
            "not targetResources/any(t: t/displayName eq 'Finance')"
        ));
        let empty = |_: Field| Vec::new();
        let f = audits("targetResources/any(t: t/displayName ne 'x')");
        assert!(!matches_with_collections(&f, &none, &empty));
        // `matches` takes the one value `get` returns.
        assert!(matches(
            &audits("targetResources/any(t: t/displayName eq 'x')"),
            &|_| s("X")
        ));
        assert!(!matches(&f, &none));
    }

    // --- properties --------------------------------------------------------------------

    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![any::<char>(), Just('\''), Just(' '), Just(')'), Just('a')],
            0..8,
        )
        .prop_map(|cs| cs.into_iter().collect())
    }

    fn value_for(field: Field) -> BoxedStrategy<Value> {
        let mut choices: Vec<BoxedStrategy<Value>> = vec![Just(Value::Null).boxed()];
        choices.push(match field.kind() {
            Kind::String => text().prop_map(Value::String).boxed(),
            Kind::Int => any::<i64>().prop_map(Value::Int).boxed(),
            Kind::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
            Kind::DateTime => (MIN_DATETIME_MS..=MAX_DATETIME_MS)
                .prop_map(Value::DateTimeMs)
                .boxed(),
            Kind::Enum(values) => prop::sample::select(values)
                .prop_map(|v| Value::String(v.to_string()))
                .boxed(),
        });
        prop::strategy::Union::new_weighted(vec![(1, choices.remove(0)), (6, choices.remove(0))])
            .boxed()
    }

    fn leaf(log: Log) -> BoxedStrategy<Expr> {
        prop::sample::select(log.fields())
            .prop_flat_map(|field| {
                let ops: Vec<Op> = match field.kind() {
                    Kind::DateTime | Kind::Int => Op::ALL.to_vec(),
                    _ => vec![Op::Eq, Op::Ne],
                };
                let cmp =
                    (prop::sample::select(ops), value_for(field)).prop_map(move |(op, value)| {
                        let value = if op.is_ordering() && value == Value::Null {
                            Value::Int(0)
                        } else {
                            value
                        };
                        let value = match (field.kind(), value) {
                            (Kind::DateTime, Value::Int(_)) => Value::DateTimeMs(0),
                            (_, v) => v,
                        };
                        Expr::Cmp { field, op, value }
                    });
                if field.kind() == Kind::String {
                    prop_oneof![
                        cmp,
                        text().prop_map(move |prefix| Expr::StartsWith { field, prefix })
                    ]
                    .boxed()
                } else {
                    cmp.boxed()
                }
            })
            .boxed()
    }

    fn expr(log: Log) -> impl Strategy<Value = Expr> {
        leaf(log).prop_recursive(5, 24, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| and(a, b)),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| or(a, b)),
                inner.prop_map(not),
            ]
        })
    }

    /// Pieces of filters, to build inputs that get past the lexer.
    fn soup() -> impl Strategy<Value = String> {
        const PIECES: &[&str] = &[
            "(",
            ")",
            " ",
            "not ",
            " and ",
            " or ",
            "AND",
            " eq ",
            " ge ",
            " lt ",
            "'",
            "''",
            "'x'",
            ",",
            ":",
            "null",
            "true",
            "false",
            "-",
            "0",
            "50126",
            "9223372036854775808",
            "createdDateTime",
            "status/errorCode",
            "isInteractive",
            "conditionalAccessStatus",
            "'failure'",
            "appDisplayName",
            "startswith(",
            "startsWith",
            "userId",
            "2026-12-01T00:00:00Z",
            "2026-02-30T00:00:00+01:00",
            "2026-12-01T00:00:00.1234567",
            "5b7a6a4e-0c8b-4a47-a2b8-9f4b1d2e3c4d",
            "targetResources/any(",
            "t:",
            "t/displayName",
            "activityDateTime",
            "result",
            "'timeout'",
            "é",
            "\u{0}",
            "%",
            "=",
        ];
        prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|p| p.concat())
    }

    fn settings() -> ProptestConfig {
        ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    proptest! {
        #![proptest_config(settings())]

        #[test]
        fn printed_sign_in_filters_parse_back(e in expr(Log::SignIns)) {
            let printed = to_odata(&e);
            prop_assert_eq!(parse(Log::SignIns, &printed), Ok(e), "{}", printed);
        }

        #[test]
        fn printed_audit_filters_parse_back(e in expr(Log::DirectoryAudits)) {
            let printed = to_odata(&e);
            prop_assert_eq!(parse(Log::DirectoryAudits, &printed), Ok(e), "{}", printed);
        }

        #[test]
        fn date_times_print_and_parse_back(ms in MIN_DATETIME_MS..=MAX_DATETIME_MS) {
            prop_assert_eq!(parse_rfc3339(&format_rfc3339(ms)), Ok(ms));
        }

        #[test]
        fn arbitrary_text_never_panics(input in any::<String>()) {
            for log in [Log::SignIns, Log::DirectoryAudits] {
                if let Err(e) = parse(log, &input) {
                    prop_assert!(e.position <= input.chars().count());
                    prop_assert!(!e.message.is_empty());
                }
            }
        }

        #[test]
        fn filter_shaped_text_never_panics_and_what_parses_prints_back(input in soup()) {
            for log in [Log::SignIns, Log::DirectoryAudits] {
                match parse(log, &input) {
                    Ok(e) => prop_assert_eq!(parse(log, &to_odata(&e)), Ok(e)),
                    Err(e) => prop_assert!(e.position <= input.chars().count(), "{}", e),
                }
            }
        }
    }
}
