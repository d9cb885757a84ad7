import HalfTraceKernels

/// A Python literal or call, as a user writes a scheduler's constructor in a training script:
/// `SequentialLR([LinearLR(start_factor=0.1, total_iters=5), CosineAnnealingLR(T_max=95)], milestones=[5])`.
///
/// `PythonExpression.parse` reads calls with positional and keyword arguments, integers and floats
/// in every Python spelling (`1_000`, `1e-4`, `.5`, `5.`, `0x10`, `-3`, `+2`), strings in single or
/// double quotes, `True`, `False`, `None`, lists, tuples and dict literals, nested to any depth,
/// and dotted names (`torch.optim.lr_scheduler.LinearLR`). Nothing is evaluated: no operators
/// beyond a sign, no variables.
public indirect enum PythonValue: Sendable, Equatable, CustomStringConvertible {
    /// An integer literal.
    case int(Int)
    /// A float literal.
    case float(Double)
    /// A string literal.
    case string(String)
    /// `True` or `False`.
    case bool(Bool)
    /// `None`.
    case none
    /// A list or tuple literal.
    case list([PythonValue])
    /// A dict literal with string keys, in the order written.
    case dict([PythonKeyword])
    /// A call.
    case call(PythonCall)

    /// The number, for an int or a float (Python's bool is not accepted as a number here).
    public var number: Double? {
        switch self {
        case .int(let i): Double(i)
        case .float(let x): x
        default: nil
        }
    }

    /// How Python would print it (repr).
    public var description: String {
        switch self {
        case .int(let i): "\(i)"
        case .float(let x): PythonValue.repr(x)
        case .string(let s): "'\(s)'"
        case .bool(let b): b ? "True" : "False"
        case .none: "None"
        case .list(let l): "[" + l.map(\.description).joined(separator: ", ") + "]"
        case .dict(let d): "{" + d.map { "'\($0.name)': \($0.value)" }.joined(separator: ", ") + "}"
        case .call(let c): c.description
        }
    }

    /// Python's repr of a float: the shortest digits that round-trip, `inf`, `nan`, and `1.0`
    /// rather than `1`.
    public static func repr(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        let s = "\(x)"
        return s.contains(".") || s.contains("e") ? s : s + ".0"
    }

    /// The name of this value's Python type, for error messages.
    public var typeName: String {
        switch self {
        case .int: "int"
        case .float: "float"
        case .string: "str"
        case .bool: "bool"
        case .none: "NoneType"
        case .list: "list"
        case .dict: "dict"
        case .call(let c): c.name
        }
    }
}

/// A keyword argument or a dict entry.
public struct PythonKeyword: Sendable, Equatable {
    /// The keyword (or the dict key).
    public var name: String
    /// The value.
    public var value: PythonValue
    /// The column (1-based) where it starts, for error messages.
    public var column: Int

    /// A keyword with its value.
    public init(name: String, value: PythonValue, column: Int) {
        self.name = name
        self.value = value
        self.column = column
    }
}

/// A call `name(positional..., keyword=value...)`.
public struct PythonCall: Sendable, Equatable, CustomStringConvertible {
    /// The name as written, with any module prefix (`torch.optim.lr_scheduler.LinearLR`).
    public var qualifiedName: String
    /// Positional arguments, in order.
    public var positional: [PythonValue]
    /// The column (1-based) of each positional argument.
    public var positionalColumns: [Int]
    /// Keyword arguments, in the order written.
    public var keywords: [PythonKeyword]
    /// The column (1-based) of the name.
    public var column: Int

    /// A call with its arguments; columns are 1-based.
    public init(qualifiedName: String, positional: [PythonValue], positionalColumns: [Int], keywords: [PythonKeyword], column: Int) {
        self.qualifiedName = qualifiedName
        self.positional = positional
        self.positionalColumns = positionalColumns
        self.keywords = keywords
        self.column = column
    }

    /// The last component of the name (`LinearLR`).
    public var name: String { qualifiedName.split(separator: ".").last.map(String.init) ?? qualifiedName }

    /// The module prefix (`torch.optim.lr_scheduler`, or "" without one).
    public var prefix: String {
        guard let dot = qualifiedName.lastIndex(of: ".") else { return "" }
        return String(qualifiedName[..<dot])
    }

    /// The call as written, normalised (`LinearLR(start_factor=0.1, total_iters=5)`).
    public var description: String {
        qualifiedName + "(" + (positional.map(\.description) + keywords.map { "\($0.name)=\($0.value)" }).joined(separator: ", ") + ")"
    }
}

/// A Python expression that could not be read: the column and what was expected.
public struct PythonSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The column (1-based) of the problem.
    public var column: Int
    /// What was wrong.
    public var message: String
    /// `column N: message`.
    public var description: String { "column \(column): \(message)" }
}

/// The parser of `PythonValue`s.
public enum PythonExpression {
    /// Parses one expression (the whole text: anything after it is an error), naming the column
    /// of the first problem.
    public static func parse(_ text: String) throws -> PythonValue {
        try parse(text, json: false)
    }

    /// Parses JSON text (a DeepSpeed config) into the same values: `true`, `false` and `null` are
    /// Python's True, False and None; an integer stays an int and a number with a point or an
    /// exponent a float, as Python's json module reads them. A leading byte-order mark is skipped.
    public static func parseJSON(_ text: String) throws -> PythonValue {
        try parse(text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text, json: true)
    }

    /// Parses a scheduler's constructor line as a training script holds it: an assignment
    /// (`scheduler = ...`, `self.scheduler = ...`), the optimizer as each call's first positional
    /// argument or its `optimizer=` keyword (a bare name), and `#` comments are dropped; the rest
    /// is `parse`'s. `StepLR(step_size=3)` and `sched = torch.optim.lr_scheduler.StepLR(opt,
    /// step_size=3)  # decay` read alike.
    public static func parseConstructorLine(_ text: String) throws -> PythonValue {
        var p = Parser(Array(text.unicodeScalars))
        p.constructorLine = true
        p.skipSpace()
        // An assignment target: a dotted name followed by '=' (not '==').
        let start = p.i
        if let c = p.peek, Parser.isIdentifierStart(c), (try? p.dottedName()) != nil {
            p.skipSpace()
            if p.peek == "=", p.i + 1 >= p.s.count || p.s[p.i + 1] != "=" { p.i += 1 } else { p.i = start }
        } else {
            p.i = start
        }
        let value = try p.value()
        p.skipSpace()
        guard p.atEnd else { throw p.error("unexpected '\(p.peekText)' after the expression") }
        return value
    }

    static func parse(_ text: String, json: Bool) throws -> PythonValue {
        var p = Parser(Array(text.unicodeScalars))
        p.json = json
        let value = try p.value()
        p.skipSpace()
        guard p.atEnd else { throw p.error("unexpected '\(p.peekText)' after the expression") }
        return value
    }

    struct Parser {
        let s: [Unicode.Scalar]
        var i = 0
        var depth = 0
        var json = false
        /// `parseConstructorLine`: optimizers and comments are skipped.
        var constructorLine = false
        init(_ s: [Unicode.Scalar]) { self.s = s }

        var atEnd: Bool { i >= s.count }
        var column: Int { i + 1 }
        var peek: Unicode.Scalar? { i < s.count ? s[i] : nil }
        var peekText: String {
            guard i < s.count else { return "end of text" }
            return String(String.UnicodeScalarView(s[i..<min(s.count, i + 12)]))
        }

        func error(_ message: String, at column: Int? = nil) -> PythonSyntaxError {
            PythonSyntaxError(column: column ?? self.column, message: message)
        }

        mutating func skipSpace() {
            while let c = peek {
                if c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\\" {
                    i += 1
                } else if constructorLine, c == "#" {
                    while let d = peek, d != "\n" { i += 1 }
                } else {
                    break
                }
            }
        }

        /// A constructor line's optimizer: a bare dotted name (not a literal such as True or
        /// math.inf, not `lambda`) followed by ',' or ')'; skipped, true. Else nothing moves.
        mutating func skipOptimizerName() -> Bool {
            let start = i
            guard constructorLine, let c = peek, Self.isIdentifierStart(c), let name = try? dottedName(),
                  !["True", "False", "None", "math.inf", "lambda"].contains(name) else { i = start; return false }
            let end = i
            skipSpace()
            guard peek == "," || peek == ")" else { i = start; return false }
            i = end
            return true
        }

        static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic }
        static func isIdentifier(_ c: Unicode.Scalar) -> Bool { isIdentifierStart(c) || ("0"..."9").contains(c) }

        mutating func expect(_ c: Unicode.Scalar, _ what: String) throws {
            skipSpace()
            guard peek == c else { throw error("expected \(what), found '\(peekText)'") }
            i += 1
        }

        mutating func value() throws -> PythonValue {
            skipSpace()
            depth += 1
            defer { depth -= 1 }
            guard depth <= 64 else { throw error("nested more than 64 levels deep") }
            guard let c = peek else { throw error("expected a value, found the end of the text") }
            switch c {
            case "[": return .list(try sequence(close: "]"))
            case "(":
                let items = try sequence(close: ")")
                return .list(items)
            case "{": return try dict()
            case "'", "\"": return .string(try string())
            case "-", "+", ".", "0"..."9": return try number()
            default:
                guard Self.isIdentifierStart(c) else { throw error("expected a value, found '\(peekText)'") }
                let start = column
                let name = try dottedName()
                skipSpace()
                if peek == "(" {
                    let c = try call(name, column: start)
                    // float('inf'), float("1e-3"): the one conversion written in schedulers' arguments.
                    if name == "float", c.keywords.isEmpty, c.positional.count == 1, case .string(let t) = c.positional[0] {
                        let lower = t.lowercased().filter { $0 != " " }
                        if let v = ["inf": Double.infinity, "+inf": .infinity, "-inf": -.infinity, "infinity": .infinity][lower] ?? Double(lower) {
                            return .float(v)
                        }
                        throw error("float('\(t)'): not a number", at: start)
                    }
                    return .call(c)
                }
                if json {
                    switch name {
                    case "true": return .bool(true)
                    case "false": return .bool(false)
                    case "null": return .none
                    case "Infinity": return .float(.infinity)
                    default: throw error("'\(name)' is not a JSON value", at: start)
                    }
                }
                switch name {
                case "True": return .bool(true)
                case "False": return .bool(false)
                case "None": return .none
                case "math.inf": return .float(.infinity)
                default: throw error("'\(name)' is a name, not a value: write the number or the call itself", at: start)
                }
            }
        }

        mutating func dottedName() throws -> String {
            var name = ""
            while true {
                let start = i
                while let c = peek, Self.isIdentifier(c) { i += 1 }
                guard i > start else { throw error("expected a name after '.'") }
                name += String(String.UnicodeScalarView(s[start..<i]))
                guard peek == ".", i + 1 < s.count, Self.isIdentifierStart(s[i + 1]) else { break }
                name += "."
                i += 1
            }
            return name
        }

        /// Items up to `close`, comma-separated, a trailing comma allowed.
        mutating func sequence(close: Unicode.Scalar) throws -> [PythonValue] {
            i += 1
            var items: [PythonValue] = []
            while true {
                skipSpace()
                if peek == close { i += 1; return items }
                items.append(try value())
                skipSpace()
                if peek == "," { i += 1; continue }
                guard peek == close else { throw error("expected ',' or '\(close)', found '\(peekText)'") }
            }
        }

        mutating func dict() throws -> PythonValue {
            i += 1
            var entries: [PythonKeyword] = []
            while true {
                skipSpace()
                if peek == "}" { i += 1; return .dict(entries) }
                let start = column
                guard peek == "'" || peek == "\"" else { throw error("expected a string key, found '\(peekText)'") }
                let key = try string()
                try expect(":", "':' after the key")
                entries.append(PythonKeyword(name: key, value: try value(), column: start))
                skipSpace()
                if peek == "," { i += 1; continue }
                guard peek == "}" else { throw error("expected ',' or '}', found '\(peekText)'") }
            }
        }

        mutating func call(_ name: String, column start: Int) throws -> PythonCall {
            i += 1
            var c = PythonCall(qualifiedName: name, positional: [], positionalColumns: [], keywords: [], column: start)
            // A constructor line passes the optimizer first (transformers' get_scheduler: second,
            // after the schedule's name): skipped, once.
            let optimizerPosition = name.hasSuffix("get_scheduler") ? 1 : 0
            var optimizerSkipped = false
            while true {
                skipSpace()
                if peek == ")" { i += 1; return c }
                guard !atEnd else { throw error("expected a value, found the end of the text") }
                if !optimizerSkipped, c.keywords.isEmpty, c.positional.count == optimizerPosition, skipOptimizerName() {
                    optimizerSkipped = true
                    skipSpace()
                    if peek == "," { i += 1; continue }
                    guard peek == ")" else { throw error("expected ',' or ')' in the call to \(name), found '\(peekText)'") }
                    continue
                }
                let argStart = i
                // A keyword argument: an identifier followed by '=' (not '==').
                var j = i
                while j < s.count, Self.isIdentifier(s[j]) { j += 1 }
                var k = j
                while k < s.count, s[k] == " " { k += 1 }
                if j > i, Self.isIdentifierStart(s[i]), k < s.count, s[k] == "=", k + 1 >= s.count || s[k + 1] != "=" {
                    let keyword = String(String.UnicodeScalarView(s[i..<j]))
                    i = k + 1
                    guard !c.keywords.contains(where: { $0.name == keyword }) else {
                        throw error("keyword argument repeated: \(keyword)", at: argStart + 1)
                    }
                    // `optimizer=opt` on a constructor line (ChainedScheduler's keyword): skipped.
                    if keyword == "optimizer", constructorLine, !optimizerSkipped {
                        skipSpace()
                        if skipOptimizerName() {
                            optimizerSkipped = true
                            skipSpace()
                            if peek == "," { i += 1; continue }
                            guard peek == ")" else { throw error("expected ',' or ')' in the call to \(name), found '\(peekText)'") }
                            continue
                        }
                    }
                    c.keywords.append(PythonKeyword(name: keyword, value: try value(), column: argStart + 1))
                } else {
                    guard c.keywords.isEmpty else { throw error("positional argument follows keyword argument") }
                    c.positionalColumns.append(column)
                    c.positional.append(try value())
                }
                skipSpace()
                if peek == "," { i += 1; continue }
                guard peek == ")" else { throw error("expected ',' or ')' in the call to \(name), found '\(peekText)'") }
            }
        }

        mutating func string() throws -> String {
            let quote = peek!
            let start = column
            i += 1
            var out = ""
            while let c = peek {
                i += 1
                if c == quote { return out }
                if c == "\\" {
                    guard let e = peek else { break }
                    i += 1
                    switch e {
                    case "n": out += "\n"
                    case "t": out += "\t"
                    default: out.unicodeScalars.append(e)
                    }
                } else {
                    out.unicodeScalars.append(c)
                }
            }
            throw error("string not closed", at: start)
        }

        mutating func number() throws -> PythonValue {
            let start = i
            var sign = 1.0
            if peek == "-" || peek == "+" {
                sign = peek == "-" ? -1 : 1
                i += 1
                skipSpace()
            }
            let digitsStart = i
            // Hexadecimal, octal and binary integers.
            if peek == "0", i + 1 < s.count, let radix = ["x": 16, "X": 16, "o": 8, "O": 8, "b": 2, "B": 2][Character(s[i + 1])] {
                i += 2
                let begin = i
                while let c = peek, c.properties.isASCIIHexDigit || c == "_" { i += 1 }
                let text = String(String.UnicodeScalarView(s[begin..<i])).filter { $0 != "_" }
                guard let v = Int(text, radix: radix) else { throw error("not a base-\(radix) integer", at: start + 1) }
                return .int(sign < 0 ? -v : v)
            }
            var isFloat = false
            while let c = peek {
                if ("0"..."9").contains(c) || c == "_" { i += 1; continue }
                if c == "." && !isFloat { isFloat = true; i += 1; continue }
                if c == "e" || c == "E" {
                    isFloat = true
                    i += 1
                    if peek == "-" || peek == "+" { i += 1 }
                    continue
                }
                break
            }
            let raw = String(String.UnicodeScalarView(s[digitsStart..<i]))
            guard !raw.isEmpty, raw != "." else {
                if let c = peek, Self.isIdentifierStart(c) {
                    let name = try dottedName()
                    if name == "inf" || name == "math.inf" { return .float(sign * .infinity) }
                }
                throw error("expected a number", at: start + 1)
            }
            guard !raw.hasPrefix("_"), !raw.hasSuffix("_"), !raw.contains("__") else {
                throw error("'\(raw)': an underscore may only separate digits", at: start + 1)
            }
            let text = raw.filter { $0 != "_" }
            if let c = peek, Self.isIdentifier(c) { throw error("'\(raw)\(c)' is not a number", at: start + 1) }
            if isFloat {
                guard let v = Double(text) else { throw error("'\(raw)' is not a number", at: start + 1) }
                return .float(sign * v)
            }
            guard text.count == 1 || !text.hasPrefix("0") || text.allSatisfy({ $0 == "0" }) else {
                throw error("'\(raw)': leading zeros in an integer are not allowed in Python", at: start + 1)
            }
            guard let v = Int(text) else { throw error("'\(raw)' is too large an integer", at: start + 1) }
            return .int(sign < 0 ? -v : v)
        }
    }
}
