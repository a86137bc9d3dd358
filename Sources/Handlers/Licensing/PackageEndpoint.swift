import Foundation
import MariaStore

/// `GET /package/{link}` — a release's package, for the address `get_version` gave a licensed
/// site (`PackageLink`).
///
/// The service checks the link (MAC, expiry) and that the license is still valid and still
/// active for the site the link was made for, counts the download per release and license, and
/// then lets the web server send the file (`X-Accel-Redirect` for nginx, `X-Sendfile` for Apache
/// with mod_xsendfile) or streams it itself (`releases.delivery`). Refusals are 403 (`link_invalid`,
/// `link_expired`, `license_not_valid`) or 410 (`release_withdrawn`).
public enum PackageEndpoint {
    public static func routes() -> [Route] {
        [Route("GET", "/package/{link}", handler: download)]
    }

    public static func download(_ request: Request, _ context: Context) throws -> Response {
        let settings = context.configuration
        guard let pepper = settings.licensing.keyPepper else {
            throw APIError.unavailable("license checks are not configured on the server (licensing.key_pepper)", retryAfterSeconds: 60)
        }
        guard let token = request.pathParameters["link"], token.utf8.count <= 200, let link = PackageLink(token: token, pepper: pepper) else {
            throw APIError(.forbidden, code: "link_invalid", message: "this download address is not valid")
        }
        let now = context.clock.now
        guard Int64(now.timeIntervalSince1970) < link.expires else {
            throw APIError(.forbidden, code: "link_expired", message: "this download address has expired: check for updates again")
        }
        let store = context.store
        let release = try store.transaction { connection -> ReleaseRepository.Release in
            let releases = ReleaseRepository(connection, prefix: store.prefix)
            guard let release = try releases.find(id: link.releaseID), release.yankedAt == nil else {
                throw APIError(.gone, code: "release_withdrawn", message: "this release was withdrawn: check for updates again")
            }
            let staleCutoff = now.addingTimeInterval(-Double(settings.licensing.staleDays) * 86_400)
            guard let license = try LicenseRepository(connection, prefix: store.prefix).record(id: link.licenseID),
                license.product == release.product, LicenseService.standing(license, now: now) == .active,
                try ActivationRepository(connection, prefix: store.prefix).all(licenseID: license.id)
                    .contains(where: { PackageLink.siteTag(of: $0.site) == link.siteTag && $0.lastSeen >= staleCutoff })
            else {
                throw APIError(.forbidden, code: "license_not_valid", message: "the license is no longer valid for this site")
            }
            // A HEAD (a client checking the size first) is not a download.
            if request.method == "GET" { try releases.countDownload(releaseID: release.id, licenseID: license.id, now: now) }
            return release
        }
        return try response(for: release, context: context)
    }

    /// The file, as `releases.delivery` says it is sent.
    static func response(for release: ReleaseRepository.Release, context: Context) throws -> Response {
        let releases = context.configuration.releases
        let path = releases.directory + "/" + release.file
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), let size = (attributes[.size] as? NSNumber)?.int64Value else {
            context.logger.error("release file missing", metadata: ["product": "\(release.product)", "version": "\(release.version)", "path": "\(path)"])
            throw APIError.internalError
        }
        var response = Response(
            status: .ok,
            headers: HTTPHeaders([
                ("Content-Type", "application/zip"),
                ("Content-Disposition", "attachment; filename=\"\(release.product)-\(release.version).zip\""),
                ("Cache-Control", "private, no-store"),
            ]))
        switch releases.delivery {
        case .xAccelRedirect: response.headers.add("X-Accel-Redirect", releases.accelLocation + release.file)
        case .xSendfile: response.headers.add("X-Sendfile", path)
        case .stream: response.file = ResponseFile(path: path, size: size)
        }
        return response
    }
}
