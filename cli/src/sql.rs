//! The SQL `tessera query` accepts, parsed with `sqlparser` into a small statement the
//! planner binds to a table: `SELECT` of columns, `*` or aggregates (`COUNT(*)`,
//! `COUNT(col)`, `SUM`, `MIN`, `MAX`, `AVG`) from one table, a `WHERE` that is a conjunction
//! of column-versus-literal comparisons (`= <> < <= > >=`, `[NOT] BETWEEN`, `[NOT] IN`,
//! `IS [NOT] NULL`, or an `OR` of those over one column), `GROUP BY` columns, `ORDER BY` and
//! `LIMIT`.
//!
//! Anything else is refused here, before any data is read, with the construct's name and its
//! position in the statement (`unsupported: JOIN at line 1, column 24`), taken from the
//! syntax tree's spans or, for keywords the tree does not locate, from the token stream.

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType as SqlType, Distinct, Expr, Function, FunctionArg,
    FunctionArgExpr, FunctionArguments, GroupByExpr, Ident, LimitClause, ObjectName,
    ObjectNamePart, OrderByKind, OrderBySort, Query, Select, SelectItem, SetExpr, SetOperator,
    Spanned, Statement, TableFactor, UnaryOperator, Value,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};
use tessera::AggregateFunction;

use crate::error::{CliError, CliResult};
use crate::literal::Literal;

/// How deep expressions may nest before the parser refuses them (a bound on recursion).
const RECURSION_LIMIT: usize = 64;
/// `AND` and `OR` a statement may hold: a chain of them is a tree as deep as it is long,
/// which every walk over the syntax tree (and its drop) recurses through.
const CONNECTIVES_MAX: usize = 10_000;

/// A name as written: case-insensitive unless quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// The text without quotes.
    pub value: String,
    /// Whether it was quoted.
    pub quoted: bool,
}

impl Name {
    fn of(ident: &Ident) -> Self {
        Self {
            value: ident.value.clone(),
            quoted: ident.quote_style.is_some(),
        }
    }

    /// Whether this name refers to `candidate`.
    pub fn matches(&self, candidate: &str) -> bool {
        if self.quoted {
            self.value == candidate
        } else {
            self.value.eq_ignore_ascii_case(candidate)
        }
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.value)
    }
}

/// An aggregate as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateCall {
    /// The function.
    pub function: AggregateFunction,
    /// Its column; `None` for `COUNT(*)`.
    pub column: Option<Name>,
}

/// One item of the select list.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `*`.
    Wildcard,
    /// A column, with its alias.
    Column {
        /// The column.
        name: Name,
        /// `AS alias`.
        alias: Option<String>,
    },
    /// An aggregate, with its alias.
    Aggregate {
        /// The call.
        call: AggregateCall,
        /// `AS alias`.
        alias: Option<String>,
    },
}

/// One alternative of a filter on a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    /// `column op literal`, with the column on the left.
    Compare(CompareOp, Literal),
    /// `column [NOT] BETWEEN low AND high`.
    Between {
        /// `NOT BETWEEN`.
        negated: bool,
        /// Lower end.
        low: Literal,
        /// Upper end.
        high: Literal,
    },
    /// `column [NOT] IN (...)`.
    In {
        /// `NOT IN`.
        negated: bool,
        /// The values.
        list: Vec<Literal>,
    },
    /// `column IS NULL`.
    IsNull,
    /// `column IS NOT NULL`.
    IsNotNull,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `<>` or `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

impl CompareOp {
    /// The operator with its sides swapped (`1 < x` is `x > 1`).
    fn flipped(self) -> Self {
        match self {
            Self::Lt => Self::Gt,
            Self::LtEq => Self::GtEq,
            Self::Gt => Self::Lt,
            Self::GtEq => Self::LtEq,
            other => other,
        }
    }
}

/// A disjunction of comparisons on one column: one term of the `WHERE` conjunction.
#[derive(Debug, Clone, PartialEq)]
pub struct Conjunct {
    /// The column.
    pub column: Name,
    /// The alternatives.
    pub comparisons: Vec<Comparison>,
}

/// What `ORDER BY` and `GROUP BY` keys refer to.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyRef {
    /// A name: an output column's alias or name, or a table column.
    Name(Name),
    /// A 1-based position in the select list.
    Position(usize),
    /// An aggregate.
    Aggregate(AggregateCall),
}

/// One `ORDER BY` key.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderKey {
    /// What it sorts by.
    pub key: KeyRef,
    /// `DESC`.
    pub descending: bool,
    /// `NULLS FIRST` (`Some(true)`) or `NULLS LAST` (`Some(false)`); nulls sort last when
    /// not said.
    pub nulls_first: Option<bool>,
}

/// A parsed `SELECT`.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectStatement {
    /// The table.
    pub table: Name,
    /// Its alias, if any (column references may be qualified by it).
    pub alias: Option<Name>,
    /// The select list.
    pub items: Vec<Item>,
    /// The `WHERE` conjunction.
    pub filter: Vec<Conjunct>,
    /// The `WHERE` clause as written, for `explain`.
    pub filter_text: Option<String>,
    /// `GROUP BY` keys.
    pub group_by: Vec<KeyRef>,
    /// `ORDER BY` keys.
    pub order_by: Vec<OrderKey>,
    /// `LIMIT`.
    pub limit: Option<u64>,
}

/// Where a statement sits in its file, so positions are reported in the file's terms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Origin {
    /// Lines before the statement's first line.
    pub lines_before: u64,
    /// Columns before the statement's first character on its first line.
    pub columns_before: u64,
}

impl Origin {
    fn place(self, location: Location) -> (u64, u64) {
        if location.line == 0 {
            return (0, 0);
        }
        let column = if location.line == 1 {
            location.column + self.columns_before
        } else {
            location.column
        };
        (location.line + self.lines_before, column)
    }
}

/// Parses one statement.
pub fn parse(sql: &str, origin: Origin) -> CliResult<SelectStatement> {
    let dialect = GenericDialect {};
    let syntax =
        |message: String| CliError::Usage(format!("syntax error: {}", relocate(&message, origin)));
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|error| syntax(error.to_string()))?;
    let connectives = tokens
        .iter()
        .filter(|token| {
            matches!(&token.token, Token::Word(word)
                if word.quote_style.is_none() && matches!(word.keyword, Keyword::AND | Keyword::OR))
        })
        .count();
    if connectives > CONNECTIVES_MAX {
        return Err(CliError::Usage(format!(
            "unsupported: a statement with {connectives} AND/OR (at most {CONNECTIVES_MAX}; use IN for long lists)"
        )));
    }
    let statements = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens.clone())
        .parse_statements()
        .map_err(|error| syntax(error.to_string()))?;
    let context = Context { tokens, origin };
    let mut statements = statements.into_iter();
    let (Some(statement), None) = (statements.next(), statements.next()) else {
        return Err(CliError::Usage(
            "expected exactly one SQL statement (use --file for several)".to_owned(),
        ));
    };
    match statement {
        Statement::Query(query) => context.query(&query),
        other => {
            let text = other.to_string();
            let kind = text
                .split_whitespace()
                .next()
                .unwrap_or("this")
                .to_uppercase();
            let start = context.first_token();
            Err(context.unsupported(format!("{kind} statement"), start))
        }
    }
}

/// Rewrites sqlparser's `Line: L, Column: C` to positions in the file.
fn relocate(message: &str, origin: Origin) -> String {
    let Some(at) = message.find("Line: ") else {
        return message.to_owned();
    };
    let rest = message.get(at + 6..).unwrap_or("");
    let line_digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after_line = rest.get(line_digits.len()..).unwrap_or("");
    let Some(column_rest) = after_line.strip_prefix(", Column: ") else {
        return message.to_owned();
    };
    let column_digits: String = column_rest
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let (Ok(line), Ok(column)) = (line_digits.parse::<u64>(), column_digits.parse::<u64>()) else {
        return message.to_owned();
    };
    let (line, column) = origin.place(Location { line, column });
    let tail = column_rest.get(column_digits.len()..).unwrap_or("");
    format!(
        "{}line {line}, column {column}{tail}",
        message.get(..at).unwrap_or("")
    )
}

struct Context {
    tokens: Vec<TokenWithSpan>,
    origin: Origin,
}

impl Context {
    fn unsupported(&self, what: impl std::fmt::Display, at: Location) -> CliError {
        let (line, column) = self.origin.place(at);
        CliError::unsupported(what, line, column)
    }

    fn first_token(&self) -> Location {
        self.tokens
            .iter()
            .find(|token| !matches!(token.token, Token::Whitespace(_)))
            .map_or(Location { line: 0, column: 0 }, |token| token.span.start)
    }

    /// The first occurrence of `keyword` at or after `after`.
    fn keyword(&self, keyword: Keyword, after: Location) -> Location {
        self.tokens
            .iter()
            .find(|token| {
                matches!(&token.token, Token::Word(word) if word.keyword == keyword && word.quote_style.is_none())
                    && (token.span.start.line, token.span.start.column) >= (after.line, after.column)
            })
            .map_or(after, |token| token.span.start)
    }

    fn start_of(&self, span: Span) -> Location {
        if span.start.line == 0 {
            self.first_token()
        } else {
            span.start
        }
    }

    fn query(&self, query: &Query) -> CliResult<SelectStatement> {
        let start = self.first_token();
        if let Some(with) = &query.with {
            return Err(self.unsupported("WITH", self.start_of(with.span())));
        }
        if !query.pipe_operators.is_empty() {
            return Err(self.unsupported("pipe operator", start));
        }
        if query.fetch.is_some() {
            return Err(self.unsupported("FETCH", self.keyword(Keyword::FETCH, start)));
        }
        if !query.locks.is_empty() {
            return Err(self.unsupported("FOR UPDATE/SHARE", self.keyword(Keyword::FOR, start)));
        }
        if query.for_clause.is_some() || query.settings.is_some() || query.format_clause.is_some() {
            return Err(self.unsupported("clause after the query", start));
        }
        let select = match query.body.as_ref() {
            SetExpr::Select(select) => select,
            SetExpr::SetOperation { op, .. } => {
                let keyword = match op {
                    SetOperator::Union => Keyword::UNION,
                    SetOperator::Except => Keyword::EXCEPT,
                    SetOperator::Intersect => Keyword::INTERSECT,
                    SetOperator::Minus => Keyword::MINUS,
                };
                return Err(self.unsupported(op, self.keyword(keyword, start)));
            }
            SetExpr::Query(inner) => {
                return Err(self.unsupported("parenthesized query", self.start_of(inner.span())));
            }
            SetExpr::Values(values) => {
                return Err(self.unsupported("VALUES", self.start_of(values.span())));
            }
            other => {
                let text = other.to_string();
                let kind = text
                    .split_whitespace()
                    .next()
                    .unwrap_or("this")
                    .to_uppercase();
                return Err(self.unsupported(format!("{kind} query"), start));
            }
        };
        let mut statement = self.select(select)?;
        if let Some(order_by) = &query.order_by {
            let OrderByKind::Expressions(keys) = &order_by.kind else {
                return Err(self.unsupported("ORDER BY ALL", self.keyword(Keyword::ORDER, start)));
            };
            if order_by.interpolate.is_some() {
                return Err(
                    self.unsupported("INTERPOLATE", self.keyword(Keyword::INTERPOLATE, start))
                );
            }
            for key in keys {
                if key.with_fill.is_some() {
                    return Err(self.unsupported("WITH FILL", self.start_of(key.expr.span())));
                }
                let descending = match &key.options.sort {
                    None | Some(OrderBySort::Asc) => false,
                    Some(OrderBySort::Desc) => true,
                    Some(OrderBySort::Using(_)) => {
                        return Err(
                            self.unsupported("ORDER BY ... USING", self.start_of(key.expr.span()))
                        );
                    }
                };
                statement.order_by.push(OrderKey {
                    key: self.key_ref(&key.expr, "ORDER BY")?,
                    descending,
                    nulls_first: key.options.nulls_first,
                });
            }
        }
        if let Some(limit) = &query.limit_clause {
            match limit {
                LimitClause::LimitOffset {
                    limit,
                    offset,
                    limit_by,
                } => {
                    if offset.is_some() {
                        return Err(
                            self.unsupported("OFFSET", self.keyword(Keyword::OFFSET, start))
                        );
                    }
                    if !limit_by.is_empty() {
                        return Err(
                            self.unsupported("LIMIT BY", self.keyword(Keyword::LIMIT, start))
                        );
                    }
                    if let Some(limit) = limit {
                        statement.limit = Some(self.count(limit)?);
                    }
                }
                LimitClause::OffsetCommaLimit { .. } => {
                    return Err(self
                        .unsupported("LIMIT offset, count", self.keyword(Keyword::LIMIT, start)));
                }
            }
        }
        Ok(statement)
    }

    fn count(&self, expr: &Expr) -> CliResult<u64> {
        if let Expr::Value(value) = expr
            && let Value::Number(text, _) = &value.value
            && let Ok(count) = text.parse::<u64>()
        {
            return Ok(count);
        }
        Err(self.unsupported(
            format!("LIMIT {expr} (LIMIT takes a non-negative integer)"),
            self.start_of(expr.span()),
        ))
    }

    fn select(&self, select: &Select) -> CliResult<SelectStatement> {
        let start = self.first_token();
        if let Some(distinct) = &select.distinct {
            let what = match distinct {
                Distinct::On(_) => "DISTINCT ON",
                _ => "DISTINCT",
            };
            return Err(self.unsupported(what, self.keyword(Keyword::DISTINCT, start)));
        }
        if select.top.is_some() {
            return Err(self.unsupported("TOP", self.keyword(Keyword::TOP, start)));
        }
        if select.into.is_some() {
            return Err(self.unsupported("SELECT INTO", self.keyword(Keyword::INTO, start)));
        }
        if select.having.is_some() {
            return Err(self.unsupported("HAVING", self.keyword(Keyword::HAVING, start)));
        }
        if let Some(qualify) = &select.qualify {
            return Err(self.unsupported("QUALIFY", self.start_of(qualify.span())));
        }
        if let Some(prewhere) = &select.prewhere {
            return Err(self.unsupported("PREWHERE", self.start_of(prewhere.span())));
        }
        if !select.named_window.is_empty() {
            return Err(self.unsupported("WINDOW", self.keyword(Keyword::WINDOW, start)));
        }
        if !select.lateral_views.is_empty() {
            return Err(self.unsupported("LATERAL VIEW", self.keyword(Keyword::LATERAL, start)));
        }
        if !select.cluster_by.is_empty()
            || !select.distribute_by.is_empty()
            || !select.sort_by.is_empty()
            || !select.connect_by.is_empty()
        {
            return Err(self.unsupported("clause", start));
        }
        if select.exclude.is_some() {
            return Err(self.unsupported("EXCLUDE", self.keyword(Keyword::EXCLUDE, start)));
        }
        let (table, alias) = self.from(select, start)?;
        let mut statement = SelectStatement {
            table,
            alias,
            items: Vec::new(),
            filter: Vec::new(),
            filter_text: select.selection.as_ref().map(ToString::to_string),
            group_by: Vec::new(),
            order_by: Vec::new(),
            limit: None,
        };
        for item in &select.projection {
            let item = match item {
                SelectItem::Wildcard(options) => {
                    if options.opt_exclude.is_some()
                        || options.opt_except.is_some()
                        || options.opt_replace.is_some()
                        || options.opt_rename.is_some()
                        || options.opt_ilike.is_some()
                    {
                        return Err(self.unsupported("* with options", self.start_of(item.span())));
                    }
                    Item::Wildcard
                }
                SelectItem::QualifiedWildcard(_, _) => {
                    return Err(self.unsupported("qualified *", self.start_of(item.span())));
                }
                SelectItem::UnnamedExpr(expr) => self.item(expr, None, &statement)?,
                SelectItem::ExprWithAlias { expr, alias } => {
                    self.item(expr, Some(alias.value.clone()), &statement)?
                }
                SelectItem::ExprWithAliases { expr, .. } => {
                    return Err(self.unsupported("multiple aliases", self.start_of(expr.span())));
                }
            };
            statement.items.push(item);
        }
        if let Some(selection) = &select.selection {
            statement.filter = self.conjuncts(selection, &statement)?;
        }
        match &select.group_by {
            GroupByExpr::All(_) => {
                return Err(self.unsupported("GROUP BY ALL", self.keyword(Keyword::GROUP, start)));
            }
            GroupByExpr::Expressions(expressions, modifiers) => {
                if !modifiers.is_empty() {
                    return Err(self.unsupported(
                        "GROUP BY modifier",
                        self.keyword(Keyword::WITH, self.keyword(Keyword::GROUP, start)),
                    ));
                }
                for expr in expressions {
                    let key = self.key_ref(expr, "GROUP BY")?;
                    if let KeyRef::Aggregate(_) = key {
                        return Err(self
                            .unsupported("an aggregate in GROUP BY", self.start_of(expr.span())));
                    }
                    statement.group_by.push(key);
                }
            }
        }
        Ok(statement)
    }

    fn from(&self, select: &Select, start: Location) -> CliResult<(Name, Option<Name>)> {
        let mut from = select.from.iter();
        let Some(first) = from.next() else {
            return Err(self.unsupported("SELECT without FROM", start));
        };
        if let Some(second) = from.next() {
            return Err(self.unsupported(
                "more than one table in FROM",
                self.start_of(second.relation.span()),
            ));
        }
        if let Some(join) = first.joins.first() {
            let relation = self.start_of(join.relation.span());
            // The join's first keyword lies between the first table and the joined one.
            let after_first = first.relation.span().end;
            let keyword = self
                .tokens
                .iter()
                .find(|token| {
                    (token.span.start.line, token.span.start.column)
                        > (after_first.line, after_first.column)
                        && matches!(&token.token, Token::Word(word) if word.quote_style.is_none()
                            && matches!(word.keyword, Keyword::JOIN | Keyword::INNER | Keyword::LEFT
                                | Keyword::RIGHT | Keyword::FULL | Keyword::CROSS | Keyword::NATURAL
                                | Keyword::OUTER | Keyword::SEMI | Keyword::ANTI | Keyword::ASOF))
                })
                .map_or(relation, |token| token.span.start);
            return Err(self.unsupported("JOIN", keyword));
        }
        match &first.relation {
            TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                sample,
                ..
            } => {
                if args.is_some() {
                    return Err(
                        self.unsupported("table function", self.start_of(first.relation.span()))
                    );
                }
                if !with_hints.is_empty() || version.is_some() || sample.is_some() {
                    return Err(
                        self.unsupported("table modifier", self.start_of(first.relation.span()))
                    );
                }
                let table = self.single_name(name, "qualified table name")?;
                if let Some(alias) = alias
                    && !alias.columns.is_empty()
                {
                    return Err(
                        self.unsupported("column aliases on a table", self.start_of(alias.span()))
                    );
                }
                Ok((table, alias.as_ref().map(|alias| Name::of(&alias.name))))
            }
            TableFactor::Derived { .. } => {
                Err(self.unsupported("subquery in FROM", self.start_of(first.relation.span())))
            }
            other => Err(self.unsupported(
                format!("FROM {other}"),
                self.start_of(first.relation.span()),
            )),
        }
    }

    fn single_name(&self, name: &ObjectName, what: &str) -> CliResult<Name> {
        match name.0.as_slice() {
            [ObjectNamePart::Identifier(ident)] => Ok(Name::of(ident)),
            _ => Err(self.unsupported(what, self.start_of(name.span()))),
        }
    }

    fn item(
        &self,
        expr: &Expr,
        alias: Option<String>,
        statement: &SelectStatement,
    ) -> CliResult<Item> {
        match expr {
            Expr::Nested(inner) => self.item(inner, alias, statement),
            Expr::Function(function) => Ok(Item::Aggregate {
                call: self.aggregate(function, expr)?,
                alias,
            }),
            _ => match self.column(expr, statement)? {
                Some(name) => Ok(Item::Column { name, alias }),
                None => Err(self.unsupported(describe(expr), self.start_of(expr.span()))),
            },
        }
    }

    /// The column `expr` names, if it is a column reference (qualified by the table or its
    /// alias, or not at all).
    fn column(&self, expr: &Expr, statement: &SelectStatement) -> CliResult<Option<Name>> {
        match expr {
            Expr::Identifier(ident) => Ok(Some(Name::of(ident))),
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [qualifier, column] => {
                    let qualifier_name = Name::of(qualifier);
                    let known = qualifier_name.matches(&statement.table.value)
                        || statement
                            .alias
                            .as_ref()
                            .is_some_and(|alias| qualifier_name.matches(&alias.value));
                    if known {
                        Ok(Some(Name::of(column)))
                    } else {
                        Err(CliError::failed(format!(
                            "unknown table or alias {:?} in {expr}",
                            qualifier.value
                        )))
                    }
                }
                _ => Err(self.unsupported("qualified column name", self.start_of(expr.span()))),
            },
            Expr::Nested(inner) => self.column(inner, statement),
            _ => Ok(None),
        }
    }

    fn aggregate(&self, function: &Function, expr: &Expr) -> CliResult<AggregateCall> {
        let at = self.start_of(expr.span());
        let name = match function.name.0.as_slice() {
            [ObjectNamePart::Identifier(ident)] => ident.value.to_uppercase(),
            _ => return Err(self.unsupported(format!("function {}", function.name), at)),
        };
        let aggregate = match name.as_str() {
            "COUNT" => AggregateFunction::Count,
            "SUM" => AggregateFunction::Sum,
            "MIN" => AggregateFunction::Min,
            "MAX" => AggregateFunction::Max,
            "AVG" => AggregateFunction::Avg,
            _ => return Err(self.unsupported(format!("function {name}"), at)),
        };
        if function.over.is_some() {
            return Err(self.unsupported(format!("window function {name}(...) OVER"), at));
        }
        if function.filter.is_some() {
            return Err(self.unsupported(format!("{name}(...) FILTER"), at));
        }
        if !function.within_group.is_empty() || function.null_treatment.is_some() {
            return Err(self.unsupported(format!("{name}(...) modifier"), at));
        }
        if !matches!(function.parameters, FunctionArguments::None) {
            return Err(self.unsupported(format!("parameters of {name}"), at));
        }
        let FunctionArguments::List(list) = &function.args else {
            return Err(self.unsupported(format!("{name} without an argument list"), at));
        };
        if let Some(treatment) = &list.duplicate_treatment
            && treatment.to_string().eq_ignore_ascii_case("DISTINCT")
        {
            return Err(self.unsupported(format!("{name}(DISTINCT ...)"), at));
        }
        if !list.clauses.is_empty() {
            return Err(self.unsupported(format!("clause inside {name}(...)"), at));
        }
        let [FunctionArg::Unnamed(argument)] = list.args.as_slice() else {
            return Err(self.unsupported(format!("{name} with {} arguments", list.args.len()), at));
        };
        let column = match argument {
            FunctionArgExpr::Wildcard if aggregate == AggregateFunction::Count => None,
            FunctionArgExpr::Expr(argument) => match argument {
                Expr::Identifier(ident) => Some(Name::of(ident)),
                Expr::CompoundIdentifier(parts) if parts.len() == 2 => parts.last().map(Name::of),
                Expr::Nested(inner) if matches!(inner.as_ref(), Expr::Identifier(_)) => {
                    match inner.as_ref() {
                        Expr::Identifier(ident) => Some(Name::of(ident)),
                        _ => None,
                    }
                }
                other => {
                    return Err(self.unsupported(
                        format!("{name} of {}", describe(other)),
                        self.start_of(other.span()),
                    ));
                }
            },
            _ => return Err(self.unsupported(format!("{name}(*)"), at)),
        };
        Ok(AggregateCall {
            function: aggregate,
            column,
        })
    }

    fn key_ref(&self, expr: &Expr, clause: &str) -> CliResult<KeyRef> {
        match expr {
            Expr::Identifier(ident) => Ok(KeyRef::Name(Name::of(ident))),
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => parts
                .last()
                .map(|ident| KeyRef::Name(Name::of(ident)))
                .ok_or_else(|| self.unsupported(describe(expr), self.start_of(expr.span()))),
            Expr::Nested(inner) => self.key_ref(inner, clause),
            Expr::Value(value) => match &value.value {
                Value::Number(text, _) => match text.parse::<usize>() {
                    Ok(position) if position > 0 => Ok(KeyRef::Position(position)),
                    _ => Err(self.unsupported(
                        format!("{clause} {text} (positions count from 1)"),
                        self.start_of(expr.span()),
                    )),
                },
                _ => Err(self.unsupported(
                    format!("{clause} {}", describe(expr)),
                    self.start_of(expr.span()),
                )),
            },
            Expr::Function(function) => Ok(KeyRef::Aggregate(self.aggregate(function, expr)?)),
            _ => Err(self.unsupported(
                format!("{clause} {}", describe(expr)),
                self.start_of(expr.span()),
            )),
        }
    }

    fn conjuncts(&self, expr: &Expr, statement: &SelectStatement) -> CliResult<Vec<Conjunct>> {
        let mut pending = vec![expr];
        let mut conjuncts = Vec::new();
        // Depth-first, left to right, bounded by the expression's size.
        while let Some(expr) = pending.pop() {
            match expr {
                Expr::BinaryOp {
                    left,
                    op: BinaryOperator::And,
                    right,
                } => {
                    pending.push(right);
                    pending.push(left);
                }
                Expr::Nested(inner)
                    if matches!(
                        inner.as_ref(),
                        Expr::BinaryOp {
                            op: BinaryOperator::And,
                            ..
                        } | Expr::Nested(_)
                    ) =>
                {
                    pending.push(inner);
                }
                other => conjuncts.push(self.disjunction(other, statement)?),
            }
        }
        Ok(conjuncts)
    }

    fn disjunction(&self, expr: &Expr, statement: &SelectStatement) -> CliResult<Conjunct> {
        match expr {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Or,
                right,
            } => {
                let mut left = self.disjunction(left, statement)?;
                let right = self.disjunction(right, statement)?;
                if left.column != right.column
                    && !(left.column.matches(&right.column.value)
                        && right.column.matches(&left.column.value))
                {
                    return Err(self.unsupported(
                        format!("OR across columns ({} and {})", left.column, right.column),
                        self.start_of(expr.span()),
                    ));
                }
                left.comparisons.extend(right.comparisons);
                Ok(left)
            }
            Expr::Nested(inner) => {
                if let Expr::BinaryOp {
                    op: BinaryOperator::And,
                    ..
                } = inner.as_ref()
                {
                    return Err(self.unsupported("AND inside OR", self.start_of(inner.span())));
                }
                self.disjunction(inner, statement)
            }
            Expr::BinaryOp {
                op: BinaryOperator::And,
                ..
            } => Err(self.unsupported("AND inside OR", self.start_of(expr.span()))),
            _ => {
                let (column, comparison) = self.comparison(expr, statement)?;
                Ok(Conjunct {
                    column,
                    comparisons: vec![comparison],
                })
            }
        }
    }

    fn comparison(
        &self,
        expr: &Expr,
        statement: &SelectStatement,
    ) -> CliResult<(Name, Comparison)> {
        let at = self.start_of(expr.span());
        match expr {
            Expr::BinaryOp { left, op, right } => {
                let op = match op {
                    BinaryOperator::Eq => CompareOp::Eq,
                    BinaryOperator::NotEq => CompareOp::NotEq,
                    BinaryOperator::Lt => CompareOp::Lt,
                    BinaryOperator::LtEq => CompareOp::LtEq,
                    BinaryOperator::Gt => CompareOp::Gt,
                    BinaryOperator::GtEq => CompareOp::GtEq,
                    other => return Err(self.unsupported(format!("operator {other}"), at)),
                };
                let left_column = self.column(left, statement)?;
                let right_column = self.column(right, statement)?;
                match (left_column, right_column) {
                    (Some(_), Some(_)) => Err(self.unsupported("comparison of two columns", at)),
                    (Some(column), None) => {
                        Ok((column, Comparison::Compare(op, self.literal(right)?)))
                    }
                    (None, Some(column)) => Ok((
                        column,
                        Comparison::Compare(op.flipped(), self.literal(left)?),
                    )),
                    (None, None) => {
                        Err(self.unsupported(format!("condition without a column: {expr}"), at))
                    }
                }
            }
            Expr::Between {
                expr: inner,
                negated,
                low,
                high,
            } => {
                let column = self.filter_column(inner, statement)?;
                Ok((
                    column,
                    Comparison::Between {
                        negated: *negated,
                        low: self.literal(low)?,
                        high: self.literal(high)?,
                    },
                ))
            }
            Expr::InList {
                expr: inner,
                list,
                negated,
            } => {
                let column = self.filter_column(inner, statement)?;
                let list = list
                    .iter()
                    .map(|item| self.literal(item))
                    .collect::<CliResult<Vec<_>>>()?;
                Ok((
                    column,
                    Comparison::In {
                        negated: *negated,
                        list,
                    },
                ))
            }
            Expr::IsNull(inner) => Ok((self.filter_column(inner, statement)?, Comparison::IsNull)),
            Expr::IsNotNull(inner) => {
                Ok((self.filter_column(inner, statement)?, Comparison::IsNotNull))
            }
            Expr::Nested(inner) => self.comparison(inner, statement),
            other => Err(self.unsupported(format!("condition {}", describe(other)), at)),
        }
    }

    fn filter_column(&self, expr: &Expr, statement: &SelectStatement) -> CliResult<Name> {
        self.column(expr, statement)?.ok_or_else(|| {
            self.unsupported(
                format!("{} where a column is expected", describe(expr)),
                self.start_of(expr.span()),
            )
        })
    }

    fn literal(&self, expr: &Expr) -> CliResult<Literal> {
        let at = self.start_of(expr.span());
        let not_literal = || {
            self.unsupported(
                format!("{} where a literal is expected", describe(expr)),
                at,
            )
        };
        match expr {
            Expr::Value(value) => match &value.value {
                Value::Number(text, _) => Ok(Literal::Number(text.clone())),
                Value::SingleQuotedString(text)
                | Value::EscapedStringLiteral(text)
                | Value::NationalStringLiteral(text) => Ok(Literal::Text(text.clone())),
                Value::Boolean(value) => Ok(Literal::Bool(*value)),
                Value::Null => Ok(Literal::Null),
                _ => Err(not_literal()),
            },
            Expr::UnaryOp { op, expr: inner } => match (op, self.literal(inner)?) {
                (UnaryOperator::Minus, Literal::Number(text)) => {
                    let negated = match text.strip_prefix('-') {
                        Some(positive) => positive.to_owned(),
                        None => format!("-{text}"),
                    };
                    Ok(Literal::Number(negated))
                }
                (UnaryOperator::Plus, Literal::Number(text)) => Ok(Literal::Number(text)),
                _ => Err(not_literal()),
            },
            Expr::Nested(inner) => self.literal(inner),
            Expr::TypedString(typed) => {
                let Some(text) = typed.value.value.clone().into_string() else {
                    return Err(not_literal());
                };
                typed_literal(&typed.data_type, text).ok_or_else(not_literal)
            }
            Expr::Cast {
                kind: CastKind::Cast | CastKind::DoubleColon,
                expr: inner,
                data_type,
                format: None,
            } => match self.literal(inner)? {
                Literal::Text(text) => typed_literal(data_type, text).ok_or_else(not_literal),
                _ => Err(not_literal()),
            },
            _ => Err(not_literal()),
        }
    }
}

fn typed_literal(data_type: &SqlType, text: String) -> Option<Literal> {
    match data_type {
        SqlType::Date => Some(Literal::Date(text)),
        SqlType::Timestamp(_, _) | SqlType::Datetime(_) | SqlType::TimestampNtz(_) => {
            Some(Literal::Timestamp(text))
        }
        _ => None,
    }
}

/// A short name for an expression's kind, for error messages.
fn describe(expr: &Expr) -> String {
    match expr {
        Expr::Function(function) => format!("function {}", function.name),
        Expr::BinaryOp { op, .. } => format!("operator {op}"),
        Expr::UnaryOp { op, .. } => format!("operator {op}"),
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => "subquery".to_owned(),
        Expr::Case { .. } => "CASE".to_owned(),
        Expr::Cast { .. } => "CAST".to_owned(),
        Expr::Like { .. } | Expr::ILike { .. } => "LIKE".to_owned(),
        Expr::SimilarTo { .. } | Expr::RLike { .. } => "pattern match".to_owned(),
        Expr::IsTrue(_) | Expr::IsFalse(_) | Expr::IsNotTrue(_) | Expr::IsNotFalse(_) => {
            "IS [NOT] TRUE/FALSE".to_owned()
        }
        Expr::IsDistinctFrom(_, _) | Expr::IsNotDistinctFrom(_, _) => {
            "IS [NOT] DISTINCT FROM".to_owned()
        }
        Expr::Interval(_) => "INTERVAL".to_owned(),
        Expr::Value(_) => format!("literal {expr}"),
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => format!("column {expr}"),
        _ => format!("expression `{expr}`"),
    }
}
