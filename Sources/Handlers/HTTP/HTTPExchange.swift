import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One blocking HTTP exchange through URLSession (libcurl underneath: TLS, proxies, timeouts).
enum HTTPExchange {
    enum Outcome {
        case success(status: Int, headers: [String: String], body: [UInt8])
        case failure(String)
    }

    /// Holds the completion's result until the waiting thread reads it.
    private final class Box: @unchecked Sendable {
        // Written once by URLSession's delegate queue before `done` is signalled, read after.
        var outcome: Outcome = .failure("no answer")
        let done = DispatchSemaphore(value: 0)
    }

    /// Performs `request`, giving up after `timeout` seconds (default: the request's own
    /// `timeoutInterval`) whatever the server does meanwhile.
    static func perform(_ request: URLRequest, timeout: Double? = nil) -> Outcome {
        let limit = timeout ?? request.timeoutInterval
        var request = request
        request.timeoutInterval = limit
        let box = Box()
        let task = URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                box.outcome = .failure((error as NSError).localizedDescription)
            } else if let http = response as? HTTPURLResponse {
                var headers: [String: String] = [:]
                for (name, value) in http.allHeaderFields {
                    if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
                }
                box.outcome = .success(status: http.statusCode, headers: headers, body: Array(data ?? Data()))
            }
            box.done.signal()
        }
        task.resume()
        guard box.done.wait(timeout: .now() + limit) == .success else {
            // The completion still runs once the task is cancelled; the box outlives us.
            task.cancel()
            return .failure("no answer within \(limit) s")
        }
        return box.outcome
    }
}
