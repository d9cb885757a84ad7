import Foundation

/// Number formatting for console output (files use round-trip `description` instead).
public enum Format {
    /// `v` with `digits` decimals ("0.9312").
    public static func fixed(_ v: Double, _ digits: Int) -> String {
        v.isFinite ? String(format: "%.\(digits)f", v) : v.description
    }

    /// `v` in scientific notation with three decimals ("1.234e-03").
    public static func scientific(_ v: Double) -> String {
        v.isFinite ? String(format: "%.3e", v) : v.description
    }
}
