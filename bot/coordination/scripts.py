"""Lua scripts of the Redis coordinator: each one step, atomic on the server.

Time comes from the server (`TIME`), so replicas with skewed clocks agree on expiry and
refill. Redis 5+ replicates a script's effects, not the script, so reading TIME before writing
is allowed (https://redis.io/docs/latest/develop/interact/programmability/eval-intro/).
"""

from __future__ import annotations

# The current time in milliseconds, from the server.
_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS[1] lease, KEYS[2] fencing counter; ARGV owner, ttl_ms -> token or 0 when held.
# The value is "<token>:<owner>"; the counter outlives the lease so tokens only grow.
ACQUIRE_LEASE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. ':' .. ARGV[1], 'PX', ARGV[2])
return token
"""

# KEYS[1] lease; ARGV "<token>:<owner>", ttl_ms -> 1 renewed, 0 lost.
RENEW_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# KEYS[i] lease i; ARGV[1] ttl_ms, ARGV[2] n, ARGV[i + 2] "<token>:<owner>" of lease i. The
# first n leases are renewed, the others released (each only if still this grant's)
# -> "1" or "0" for each of the first n.
RENEW_LEASES = """
local n = tonumber(ARGV[2])
local out = {}
for i, key in ipairs(KEYS) do
  local ours = redis.call('GET', key) == ARGV[i + 2]
  if i <= n then
    if ours then
      redis.call('PEXPIRE', key, ARGV[1])
      out[i] = '1'
    else
      out[i] = '0'
    end
  elseif ours then
    redis.call('DEL', key)
  end
end
return table.concat(out)
"""

# KEYS[1] lease; ARGV "<token>:<owner>" -> 1 released, 0 not ours.
RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

# KEYS[1] bucket hash {tokens, at}; ARGV rate/s, burst, cost, reserve (0/1)
# -> "0" granted, else the seconds to wait (as a string: Lua numbers return as integers).
TAKE = (
    _NOW_MS
    + """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
else
  wait = (cost - tokens) / rate
  if ARGV[4] == '1' then tokens = tokens - cost end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
-- A bucket left alone refills to `burst`: it may as well vanish once it would be full.
local full_in = math.ceil(math.max(0, burst - tokens) / rate * 1000) + 1000
redis.call('PEXPIRE', KEYS[1], full_in)
return tostring(wait)
"""
)

# KEYS[1] window: sorted set member -> when it stops counting (ms), KEYS[2] bucket hash;
# ARGV member ('' = only settle), limit, span_ms, keep, hold_ms, poll_ms, bucket (0/1), rate/s,
# burst, bucket keep, then pairs of a member to settle and the ms since its answer -> "0:0"
# admitted, else "<seconds>:<n>", n = 1 the window is short, 2 the bucket. A member admitted
# counts `hold` ms (in flight: its call has no answer yet), settled it counts `span` ms from its
# answer (told late, it counts no longer for that); expired members are dropped.
ADMIT = (
    _NOW_MS
    + """
local span = tonumber(ARGV[3])
-- An answered call counts until `span` after its answer, never a moment less: `now` is
-- TIME cut to the millisecond (up to 1 ms early) and the ages come cut down too, so the end
-- is put 1 ms later. Telegram counts the call from its arrival, before the answer; a call that
-- left the window a fraction of a millisecond early let a 31st message in (seen as a 429
-- from the fake, which counts exactly).
for i = 11, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], 'XX', now + 1 + span - tonumber(ARGV[i + 1]), ARGV[i])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[1] == '' then return '0:0' end
local count = redis.call('ZCARD', KEYS[1])
local over = count + 1 + tonumber(ARGV[4]) - tonumber(ARGV[2])
if over > 0 then
  if over > count then over = count end
  local poll = tonumber(ARGV[6]) / 1000
  if over == 0 then return tostring(poll) .. ':1' end
  local found = redis.call('ZRANGE', KEYS[1], over - 1, over - 1, 'WITHSCORES')
  local at = tonumber(found[2])
  if at > now + span then return tostring(poll) .. ':1' end
  return tostring(math.max(0, at - now) / 1000) .. ':1'
end
local hold = tonumber(ARGV[5])
if ARGV[7] == '1' then
  local rate = tonumber(ARGV[8])
  local burst = tonumber(ARGV[9])
  local need = 1 + tonumber(ARGV[10])
  local state = redis.call('HMGET', KEYS[2], 'tokens', 'at')
  local tokens = tonumber(state[1])
  local at = tonumber(state[2])
  if tokens == nil or at == nil then
    tokens = burst
    at = now
  end
  tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
  if tokens < need then return tostring((need - tokens) / rate) .. ':2' end
  tokens = tokens - 1
  redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[2], math.ceil((burst - tokens) / rate * 1000) + 1000)
end
redis.call('ZADD', KEYS[1], now + hold, ARGV[1])
if redis.call('PTTL', KEYS[1]) < hold + span then redis.call('PEXPIRE', KEYS[1], hold + span) end
return '0:0'
"""
)

# KEYS[1] signal, KEYS[2] its sequence counter; ARGV value, ttl_ms -> the sequence number.
SIGNAL = """
local seq = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], seq .. ':' .. ARGV[1], 'PX', ARGV[2])
return seq
"""

# KEYS[1] sorted set of holders (score: expiry), KEYS[2] sorted set of holders asking short
# (score: until when), KEYS[3] the rebuild mark (RENEW_SLOTS: no new holder while it lives),
# KEYS[4] the known mark (no expiry: absent, the store came back empty or never saw the
# semaphore); ARGV holder, limit, ttl_ms, short_ms, rebuild_ms -> 1 held, 0 refused. Without
# the known mark and with rebuild_ms > 0 (the asker used the semaphore before) the rebuild
# mark is set for rebuild_ms first: the slots in use elsewhere are not counted yet. A refusal
# with short_ms > 0 marks the holder short: a release gives it the slot (for short_ms, to be
# claimed by asking again, which makes it the holder's for ttl_ms).
ACQUIRE_SLOT = (
    _NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local ttl = tonumber(ARGV[3])
if redis.call('SET', KEYS[4], '1', 'NX') and tonumber(ARGV[5]) > 0 then
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[5])
end
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if held or (redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2])
            and redis.call('EXISTS', KEYS[3]) == 0) then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 1
end
local short = tonumber(ARGV[4])
if short > 0 then
  redis.call('ZADD', KEYS[2], now + short, ARGV[1])
  if redis.call('PTTL', KEYS[2]) < short then redis.call('PEXPIRE', KEYS[2], short) end
end
return 0
"""
)

# KEYS[1], KEYS[2] as ACQUIRE_SLOT; ARGV holder, keep_ms, claim_ms -> 1 the slot left the
# holder, 0 kept. The slot goes to the holder asking short the longest (for claim_ms; never
# with claim_ms 0), else with keep_ms > 0 it stays the holder's (renewed for keep_ms), else it
# is free.
RELEASE_SLOT = (
    _NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZREM', KEYS[2], ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
local waiter = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
if waiter and tonumber(ARGV[3]) > 0 then
  redis.call('ZREM', KEYS[2], waiter)
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), waiter)
  return 1
end
local keep = tonumber(ARGV[2])
if keep > 0 then
  redis.call('ZADD', KEYS[1], 'XX', now + keep, ARGV[1])
  if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
"""
)

# KEYS[1] sorted set, KEYS[2] the rebuild mark, KEYS[3] the known mark (ACQUIRE_SLOT, set
# here too); ARGV ttl_ms, rebuild_ms, holder... -> one byte
# per holder: "1" renewed, "0" not found. With rebuild_ms > 0 a holder not found is still in
# use (the set was lost): it is added again, and the mark holds new grants back for
# rebuild_ms, while the other replicas add theirs.
RENEW_SLOTS = (
    _NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local ttl = tonumber(ARGV[1])
local rebuild = tonumber(ARGV[2])
redis.call('SET', KEYS[3], '1')
local kept = {}
local lost = false
for i = 3, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[i])
    kept[#kept + 1] = '1'
  else
    if rebuild > 0 then
      redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
      lost = true
    end
    kept[#kept + 1] = '0'
  end
end
if lost then redis.call('SET', KEYS[2], '1', 'PX', rebuild) end
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return table.concat(kept)
"""
)

# KEYS[1] sorted set -> live holders.
COUNT_SLOTS = (
    _NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""
)

# KEYS[1] sorted set; ARGV holder, ttl_ms -> live holders, `holder` (renewed) among them.
ANNOUNCE = (
    _NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return redis.call('ZCARD', KEYS[1])
"""
)
