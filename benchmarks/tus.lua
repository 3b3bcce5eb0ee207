-- tus requests for wrk (benchmarks/loadgen.py runs it with -t1): one thread, its connections share the counters.
-- Arguments after "--": MODE COUNT SIZE BASE_PATH
--   create  COUNT empty POSTs (Upload-Length SIZE, no body)
--   upload  COUNT POSTs carrying the whole file (creation-with-upload, SIZE bytes in one request)
--   patch   COUNT files, each a POST without a body and then one PATCH of SIZE bytes, on whichever connection
--           is free first (the upload URLs go through one queue)
-- A file counts when its last answer arrives with the expected Upload-Offset (201 for create). Once COUNT
-- files are asked for, a free connection sends OPTIONS (not counted) until the last file is done. Then the thread
-- prints one line, "tus-result <json>", with the seconds from its first request to its last file (wrk's own
-- duration is always the whole -d, so the harness ends wrk with SIGINT once it has read that line).

local mode, total, size, base
local post_request, options_request, patch_headers, body
local asked = 0
local files, errors, first_error = 0, 0, ""
local queue, head, tail = {}, 1, 0

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } tus_timespec;
int clock_gettime(int clock, tus_timespec *now);
]])
local clock = ffi.new("tus_timespec")
local function now() -- CLOCK_MONOTONIC, in seconds
   ffi.C.clock_gettime(1, clock)
   return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) / 1e9
end
local started, ended

local metadata = "filename YmVuY2guYmlu,filetype YXBwbGljYXRpb24vb2N0ZXQtc3RyZWFt"

function init(args)
   mode, total, size, base = args[1], tonumber(args[2]), tonumber(args[3]), args[4]
   -- Bytes that are not all alike, the same for every file: what the data is does not matter to a server.
   local pieces = {}
   for i = 0, 255 do pieces[#pieces + 1] = string.char((i * 97 + 13) % 256) end
   local block = table.concat(pieces)
   body = string.rep(block, math.floor(size / 256)) .. string.sub(block, 1, size % 256)
   local headers = { ["Tus-Resumable"] = "1.0.0", ["Upload-Length"] = tostring(size), ["Upload-Metadata"] = metadata }
   if mode == "upload" then
      headers["Content-Type"] = "application/offset+octet-stream"
      post_request = wrk.format("POST", base, headers, body)
   else
      post_request = wrk.format("POST", base, headers, "")
   end
   options_request = wrk.format("OPTIONS", base, { ["Tus-Resumable"] = "1.0.0" })
   patch_headers = {
      ["Tus-Resumable"] = "1.0.0", ["Upload-Offset"] = "0", ["Content-Type"] = "application/offset+octet-stream",
   }
end

local verified = false

function request()
   if not verified then -- wrk 4 calls request() once before the run to look at it, and never sends that one
      verified = true
      return post_request
   end
   if started == nil then started = now() end
   if mode == "patch" and head <= tail then
      local path = queue[head]
      queue[head] = nil
      head = head + 1
      return wrk.format("PATCH", path, patch_headers, body)
   end
   if asked < total then
      asked = asked + 1
      return post_request
   end
   return options_request
end

local function header(headers, name)
   for key, value in pairs(headers) do
      if string.lower(key) == name then return value end
   end
   return nil
end

local function report()
   local text = string.gsub(first_error, '[%c"\\]', " ")
   io.write(string.format('tus-result {"files": %d, "errors": %d, "first_error": "%s", "seconds": %.6f}\n',
      files, errors, text, (ended or now()) - (started or now())))
   io.flush()
end

local function maybe_end()
   -- Every file answered (a failed file is not asked again), or enough failures to say what is wrong.
   if files + errors >= total or errors >= 10 then
      ended = now()
      report()
      wrk.thread:stop()
   end
end

local function finished()
   files = files + 1
   maybe_end()
end

local function failed(status, text)
   errors = errors + 1
   if first_error == "" then first_error = status .. " " .. string.sub(text or "", 1, 200) end
   maybe_end()
end

function response(status, headers, text)
   if status >= 300 then return failed(status, text) end
   local offset = header(headers, "upload-offset")
   if status == 201 then
      local location = header(headers, "location")
      if location == nil then return failed(status, "no Location") end
      if mode == "create" then return finished() end
      if mode == "upload" then
         if offset ~= tostring(size) then return failed(status, "Upload-Offset " .. tostring(offset)) end
         return finished()
      end
      tail = tail + 1
      queue[tail] = string.match(location, "^https?://[^/]+(/.*)$") or location
   elseif offset ~= nil then -- a PATCH's 204
      if offset ~= tostring(size) then return failed(status, "Upload-Offset " .. offset) end
      finished()
   end
end
