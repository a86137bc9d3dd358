import Foundation

/// The emails' words: built in, each overridable by files in `mail.templates_dir`
/// (`KIND.subject`, `KIND.txt`, `KIND.html`). `{{name}}` is replaced by a value; in HTML the
/// value is escaped.
public struct MailTemplates: Sendable {
    public let directory: String?

    public init(directory: String?) {
        self.directory = directory
    }

    public struct Rendered: Sendable {
        public let subject: String
        public let text: String
        public let html: String
    }

    public func render(_ kind: String, values: [String: String]) -> Rendered? {
        guard let builtIn = Self.builtIn[kind] else { return nil }
        func load(_ suffix: String, _ fallback: String) -> String {
            guard let directory, let text = try? String(contentsOfFile: "\(directory)/\(kind).\(suffix)", encoding: .utf8) else { return fallback }
            return text
        }
        return Rendered(
            subject: Self.fill(load("subject", builtIn.subject), values, escape: false).trimmingCharacters(in: .whitespacesAndNewlines),
            text: Self.fill(load("txt", builtIn.text), values, escape: false),
            html: Self.fill(load("html", builtIn.html), values, escape: true))
    }

    static func fill(_ template: String, _ values: [String: String], escape: Bool) -> String {
        var out = template
        for (name, value) in values {
            out = out.replacingOccurrences(of: "{{\(name)}}", with: escape ? html(value) : value)
        }
        return out
    }

    static func html(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    struct Template {
        let subject: String
        let text: String
        let html: String
    }

    static let builtIn: [String: Template] = [
        "license_email": Template(
            subject: "Your license key for {{product_name}}",
            text: """
                Thank you for your purchase from {{site_name}}.

                Your license key for {{product_name}}:

                    {{license_key}}

                To activate it: in your WordPress dashboard, open the plugin's settings page,
                paste the key into the license field, save, and click "Activate".
                {{activation_limit_line}}
                {{account_line}}
                Keep this email: it is the only copy of your key.
                """,
            html: """
                <p>Thank you for your purchase from {{site_name}}.</p>
                <p>Your license key for <strong>{{product_name}}</strong>:</p>
                <p style="font-family: monospace; font-size: 1.2em; padding: .5em; background: #f3f3f3">{{license_key}}</p>
                <p>To activate it: in your WordPress dashboard, open the plugin's settings page, paste the key into the
                license field, save, and click <em>Activate</em>.</p>
                <p>{{activation_limit_line}}</p>
                <p>{{account_line}}</p>
                <p>Keep this email: it is the only copy of your key.</p>
                """),
        "payment_failed_email": Template(
            subject: "Your payment to {{site_name}} did not go through",
            text: """
                We could not collect the latest payment for your subscription at {{site_name}}.
                Your card issuer declined it or it needs your confirmation. Stripe will try again;
                you can update your payment method meanwhile.
                {{account_line}}
                """,
            html: """
                <p>We could not collect the latest payment for your subscription at {{site_name}}.
                Your card issuer declined it or it needs your confirmation. Stripe will try again; you can update your
                payment method meanwhile.</p>
                <p>{{account_line}}</p>
                """),
        "credits_receipt": Template(
            subject: "{{credits}} credits added at {{site_name}}",
            text: "{{credits}} credits were added to your account at {{site_name}} ({{amount}}).\n{{account_line}}\n",
            html: "<p>{{credits}} credits were added to your account at {{site_name}} ({{amount}}).</p><p>{{account_line}}</p>"),
        "refund_email": Template(
            subject: "Your refund from {{site_name}}",
            text: "We refunded {{amount}} for your order at {{site_name}}. It reaches your account in a few days.\n",
            html: "<p>We refunded {{amount}} for your order at {{site_name}}. It reaches your account in a few days.</p>"),
        "subscription_ending_email": Template(
            subject: "Your {{site_name}} subscription ends on {{period_end}}",
            text: "Your subscription will end on {{period_end}} and will not renew.\n{{account_line}}\n",
            html: "<p>Your subscription will end on {{period_end}} and will not renew.</p><p>{{account_line}}</p>"),
        "key_rotation_email": Template(
            subject: "A new license key for {{product_name}}",
            text: """
                Someone (we hope you) asked {{site_name}} for a new license key for {{product_name}}.

                To get it, open this link within 24 hours and confirm:

                    {{link}}

                The new key comes in a separate email, and your current key stops working then.
                If you did not ask for this, ignore this email: your key keeps working.
                """,
            html: """
                <p>Someone (we hope you) asked {{site_name}} for a new license key for <strong>{{product_name}}</strong>.</p>
                <p>To get it, open this link within 24 hours and confirm: <a href="{{link}}">get a new key</a></p>
                <p>The new key comes in a separate email, and your current key stops working then.
                If you did not ask for this, ignore this email: your key keeps working.</p>
                """),
    ]
}
