import Foundation

/// One configuration setting: its name, what README's reference says about it, and how its
/// text becomes part of `Configuration`. `ConfigurationSettings.all` lists every one, and the
/// loader, `check-config` and the reference are all driven by that list, so adding a setting
/// is adding one entry there.
public struct Setting: Sendable {
    /// The default as README's reference shows it.
    public enum Default: Sendable, Equatable, ExpressibleByStringLiteral {
        /// A value as it would be written in the file (shown in backticks).
        case value(String)
        /// Off or absent unless configured ("none").
        case notSet
        /// Nothing works without it ("required").
        case required
        /// The empty string ("empty").
        case empty
        /// What happens when it is not set, in words (shown as is): "system CAs".
        case described(String)

        public init(stringLiteral value: String) { self = .value(value) }

        /// The reference's default column.
        public var markdown: String {
            switch self {
            case .value(let text): return "`\(text)`"
            case .notSet: return "none"
            case .required: return "required"
            case .empty: return "empty"
            case .described(let words): return words
            }
        }
    }

    /// `section.key`, as in the file.
    public let name: String
    /// Never shown (`check-config` says "(set)", problems say "(secret)"), and may be read from
    /// the file named by `…_file` instead.
    public let secret: Bool
    public let defaultValue: Default
    /// The reference's "meaning" column, markdown.
    public let meaning: String
    let parse: Parse

    init(_ name: String, secret: Bool = false, default defaultValue: Default, _ parse: Parse, _ meaning: String) {
        self.name = name
        self.secret = secret
        self.defaultValue = defaultValue
        self.meaning = meaning
        self.parse = parse
    }

    /// The environment variable that overrides it: `database.password` → `PFC_DATABASE_PASSWORD`.
    public var environmentName: String {
        "PFC_" + name.uppercased().replacingOccurrences(of: ".", with: "_")
    }
}

/// A key path into `Configuration` that a setting's parse may capture (it is shared between threads).
typealias ConfigurationPath<Value> = WritableKeyPath<Configuration, Value> & Sendable

extension Setting {
    /// How a setting's text is checked and applied to `Configuration`. Only called with a
    /// value that is set; an empty value counts as not set (the default stays) unless
    /// `acceptsEmpty`.
    struct Parse: Sendable {
        var acceptsEmpty = false
        /// When not set (or empty), a problem rather than the default.
        var isRequired = false
        let apply: @Sendable (_ value: String, _ reporter: inout SettingReporter, _ configuration: inout Configuration) -> Void

        /// Anything a helper below does not cover; `reporter.refuse` names what is wrong.
        static func custom(
            acceptingEmpty: Bool = false,
            _ apply: @escaping @Sendable (String, inout SettingReporter, inout Configuration) -> Void
        ) -> Parse {
            Parse(acceptsEmpty: acceptingEmpty, apply: apply)
        }

        /// The text as it is.
        static func text(_ path: ConfigurationPath<String>, acceptingEmpty: Bool = false) -> Parse {
            Parse(acceptsEmpty: acceptingEmpty) { value, _, configuration in configuration[keyPath: path] = value }
        }

        static func text(_ path: ConfigurationPath<String?>, acceptingEmpty: Bool = false) -> Parse {
            Parse(acceptsEmpty: acceptingEmpty) { value, _, configuration in configuration[keyPath: path] = value }
        }

        /// Text that must be set: the service cannot start without it.
        static func required(_ path: ConfigurationPath<String>) -> Parse {
            Parse(isRequired: true) { value, _, configuration in configuration[keyPath: path] = value }
        }

        /// A URL whose one trailing `/` is dropped, so paths can be appended to it.
        static func url(_ path: ConfigurationPath<String?>) -> Parse {
            Parse { value, _, configuration in
                configuration[keyPath: path] = value.hasSuffix("/") ? String(value.dropLast()) : value
            }
        }

        /// A whole number within `range`.
        static func integer<Number: BinaryInteger>(in range: ClosedRange<Int>, _ path: ConfigurationPath<Number>) -> Parse {
            Parse { value, reporter, configuration in
                guard let number = Int(value), range.contains(number) else {
                    reporter.refuse("must be a whole number from \(range.lowerBound) to \(range.upperBound)")
                    return
                }
                configuration[keyPath: path] = Number(number)
            }
        }

        /// One of an enumeration's raw values; `otherwise` lists them for the operator.
        static func choice<Choice: RawRepresentable>(
            _ path: ConfigurationPath<Choice>, ignoringCase: Bool = false,
            otherwise message: String
        ) -> Parse where Choice.RawValue == String {
            Parse { value, reporter, configuration in
                if let choice = Choice(rawValue: ignoringCase ? value.lowercased() : value) {
                    configuration[keyPath: path] = choice
                } else {
                    reporter.refuse(message)
                }
            }
        }

        /// Items separated by commas, each trimmed; empty items are skipped.
        static func list(_ path: ConfigurationPath<[String]>) -> Parse {
            Parse { value, _, configuration in configuration[keyPath: path] = Self.items(value) }
        }

        /// IP addresses separated by commas, kept in the one spelling `inet_ntop` gives (how
        /// peers are compared); `whose` says whose addresses belong there.
        static func ipAddresses(_ path: ConfigurationPath<[String]>, whose: String) -> Parse {
            Parse { value, reporter, configuration in
                for item in Self.items(value) {
                    if let address = AddressSyntax.canonicalAddress(item) {
                        configuration[keyPath: path].append(address)
                    } else {
                        reporter.refuse("\(item) is not an IP address (list \(whose) addresses, comma-separated)")
                    }
                }
            }
        }

        /// A key or secret someone could guess if it were short. It is kept even when refused,
        /// as the problem already stops the service.
        static func randomText(_ path: ConfigurationPath<String?>, atLeast length: Int, advice: String = "") -> Parse {
            Parse { value, reporter, configuration in
                if value.utf8.count < length { reporter.refuse("must be at least \(length) characters of random text\(advice)") }
                configuration[keyPath: path] = value
            }
        }

        /// 32 bytes written as 64 hexadecimal characters.
        static func key32(_ path: ConfigurationPath<[UInt8]?>) -> Parse {
            Parse { value, reporter, configuration in
                if let bytes = Hex.decode(value), bytes.count == 32 {
                    configuration[keyPath: path] = bytes
                } else {
                    reporter.refuse("must be 64 hexadecimal characters (openssl rand -hex 32)")
                }
            }
        }

        static func items(_ list: String) -> [String] {
            list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }
}

/// What is wrong with one setting's value, collected while it is applied; the loader words
/// each message with the setting's name, origin and (unless secret) value.
struct SettingReporter {
    private(set) var refusals: [String] = []

    mutating func refuse(_ message: String) { refusals.append(message) }
}
