-- signup.lua: wrk script for `make bench`: every request is an API sign-up
-- (POST /api/v1/memberships) with an address no other request uses, so each
-- acknowledged request is one durable write. The token comes from the
-- environment (BENCH_TOKEN); each wrk thread numbers its own requests, and
-- BENCH_RUN (if set) tells runs on the same database apart: an address
-- already signed up is acknowledged without a new membership.
local counter = 0
local thread_id = 0
local next_id = 0
local run = os.getenv("BENCH_RUN") or ""

function setup(thread)
    next_id = next_id + 1
    thread:set("tid", next_id)
end

function init(args)
    thread_id = tid
end

function request()
    counter = counter + 1
    local body = string.format(
        '{"name": "Bench %d-%d", "email": "w%s-%d@bench.example.org", "country": "ARG", ' ..
        '"consent_store": true, "not_government": true}', thread_id, counter, run .. thread_id,
        counter)
    return wrk.format("POST", "/api/v1/memberships", {
        ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"),
        ["Content-Type"] = "application/json",
    }, body)
end
