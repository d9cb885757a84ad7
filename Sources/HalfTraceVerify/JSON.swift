/// The JSON `verify --json` prints, written by hand (a fixed shape, no dependency).
enum JSON {
    /// `s` as a JSON string (quotes, backslashes and control characters escaped).
    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// A finite number as Swift prints it (shortest round trip); null otherwise.
    static func number(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }

    static func array(_ items: [String]) -> String { "[" + items.joined(separator: ", ") + "]" }

    static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { string($0.0) + ": " + $0.1 }.joined(separator: ", ") + "}"
    }

    /// Checked columns: name, rows, worst error, disagreements and the first one.
    static func columns(_ cs: [CheckedColumn]) -> String {
        array(cs.map { c in
            var f: [(String, String)] = [("column", string(c.name)), ("what", string(c.what)), ("rows", "\(c.rows)"), ("worst_error", number(c.worstError)),
                                         ("unit", string(c.unit)), ("worst_at", string(c.worstAt)), ("disagreements", "\(c.disagreements)"), ("agrees", "\(c.passes)")]
            if let d = c.firstDisagreement {
                f.append(("first_disagreement", object([("at", string(d.at)), ("line", "\(d.line)"), ("logged", number(d.logged)), ("predicted", number(d.predicted))])))
            }
            return object(f)
        })
    }

    /// A scale check.
    static func scale(_ s: ScaleVerification) -> String {
        var f: [(String, String)] = [("rows", "\(s.rows)"), ("agrees", "\(s.passes)"), ("backoffs", "\(s.backoffs)"), ("growths", "\(s.growths)"),
                                     ("disagreements", "\(s.disagreements)"), ("growth_factor", number(s.settings.growthFactor)),
                                     ("backoff_factor", number(s.settings.backoffFactor)), ("growth_interval", "\(s.settings.growthInterval)"),
                                     ("settings", array(s.settings.sources.map(string)))]
        if let d = s.firstDisagreement {
            f.append(("first_disagreement", object([("row", "\(d.row)"), ("logged", number(d.logged)), ("predicted", number(d.predicted))])))
        }
        return object(f)
    }
}
