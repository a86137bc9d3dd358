// libcurl: what FoundationNetworking's URLSession runs on. Swift's static standard library
// (--static-swift-stdlib) carries FoundationNetworking but not libcurl itself, so the
// executable links libcurl through this module.
#include <curl/curl.h>
