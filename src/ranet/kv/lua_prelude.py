"""The Lua side of scripting: the sandbox each script runs in, as Lua source.

``lua_engine.py`` runs ``PRELUDE`` once in its Lua 5.1 state; the chunk
returns ``compile(body, chunk_name)``, ``run(fn, sha, keys, argv, budget,
budget_message)``, ``load_library`` and ``call_function`` (a library of
functions: FUNCTION LOAD, FCALL), the table ``state`` it shares with Python
(budget spent, RESP version) and ``keyed``, which makes a RESP3 map or set
for a script. What a script sees follows Redis 7.0's scripting
environment (its ``eval.c`` and ``script_lua.c``): the globals ``KEYS``
and ``ARGV``; the base library without ``print``, ``dofile``, ``loadfile``,
``getfenv`` and ``setfenv``; ``string``, ``table``, ``math``,
``coroutine``, ``cjson``, ``cmsgpack``, ``bit``, ``struct`` and ``redis``. Reading an
undefined global is an error, and so is any change to the global table or
to a library.

Nothing a run does survives it: it gets a new global table, and each
library as a new empty table reading through to it (so even a ``rawset``
is forgotten); the strings' shared metatable is hidden. A read-only script
(EVAL_RO) runs on one node only and must not leave that node different
from the others. For the same reason what differs between processes is
made the same everywhere: ``tostring`` names a table or function by the
order in which the run first named it, not by its address, ``type`` and
``tostring`` see Python callables as functions, ``collectgarbage`` and
``gcinfo`` answer 0, ``math.random`` draws from a source seeded per run
(``scripting.py``).

``redis.call``, ``redis.pcall``, ``redis.sha1hex``, ``redis.log``,
``redis.setresp`` and the cjson, cmsgpack, bit and struct functions are Python
callables, C functions to Lua: as with Redis's own, an error they raise
keeps the script's line even from ``return redis.call(...)``, a tail call
that erases the caller's frame when the callee is a Lua function.

The budget (``lua_engine.py``, "Budget"): a count hook spends ``STEP``
every ``STEP`` Lua instructions, Python a ``CALL_COST`` per ``redis.call``,
each coroutine ``COROUTINE_COST``; past the budget the hook raises, and
keeps raising, and the ``pcall``, ``xpcall`` and ``coroutine.resume``
given to scripts raise it again, so no script catches its way past it.
"""

PRELUDE = r"""
local redis_call, redis_pcall, helpers, random_python, libraries, patterns,
      STEP, COROUTINE_COST, SORT_COST, C_STEPS, VERSION, VERSION_NUM = ...

local error, pcall, xpcall, type, tostring, rawget, next, pairs, select, tonumber =
      error, pcall, xpcall, type, tostring, rawget, next, pairs, select, tonumber
local setmetatable, getmetatable, setfenv, loadstring, load, ipairs, floor =
      setmetatable, getmetatable, setfenv, loadstring, load, ipairs, math.floor
local sethook, getinfo, debug_getmetatable = debug.sethook, debug.getinfo, debug.getmetatable
local create, resume = coroutine.create, coroutine.resume

local c_find, c_match, c_gmatch, c_gsub = string.find, string.match, string.gmatch, string.gsub

-- What Python reads and writes too: the budget spent, whether it is
-- exhausted, the RESP version of redis.call's replies (redis.setresp).
local state = {used = 0, budget = 0, exhausted = false, resp = 2}
local budget_error

local function spend(units)
  local used = state.used + units
  state.used = used
  if used > state.budget then
    state.exhausted = true
    error(budget_error, 0)
  end
end

local function hook() spend(STEP) end

-- What the caught error of pcall, xpcall or resume becomes: raised again
-- once the budget is spent.
local function unless_exhausted(...)
  if state.exhausted then error(budget_error, 0) end
  return ...
end

-- The chunk running: user_script (EVAL and its kin) or user_function (a
-- library of functions: FUNCTION LOAD, FCALL), as Redis names them.
local chunk = "user_script"

-- The running chunk's line, or nil outside it.
local function chunk_line()
  for level = 3, 200 do
    local info = getinfo(level, "Sl")
    if not info then break end
    if info.source == "@" .. chunk then return info.currentline end
  end
end

-- "user_script:LINE: ", where the script is: what Lua puts before an
-- error raised by a function the script called.
local function where()
  local line = chunk_line()
  return line and chunk .. ":" .. line .. ": " or ""
end

-- An error raised from Python (a Python callable's exception, a userdata
-- to Lua): an error reply's text, or - marked by a leading \1 - a Lua
-- error's message, which gets the script's position, or - marked by \2 -
-- the message of a Lua error raised on through Python, as it was.
local function python_error(e)
  if state.exhausted then return budget_error.err end
  local text = tostring(e)
  if text == "" then return nil, where() .. "error in a call to Python" end
  if text:sub(1, 1) == "\2" then return nil, text:sub(2) end
  if text:sub(1, 1) == "\1" then return nil, where() .. text:sub(2) end
  return text
end

-- An error as text: an error reply's (an error table's err, redis.call's
-- error), else nil and a plain message. A message Lua raised in the
-- prelude, for a function the script called wrongly (pairs(nil)), names
-- the script's line instead of the prelude's.
local function error_text(e)
  if type(e) == "table" and type(rawget(e, "err")) == "string" then return e.err end
  if type(e) == "userdata" and type(getmetatable(e)) == "table" then return python_error(e) end
  if type(e) == "string" and e:sub(1, 6) == "ranet:" then
    local message, named = c_gsub(e, "^ranet:%d+: ", "")
    if named > 0 then return nil, where() .. message end
  end
  return nil
end

local function plain_error(ok, ...)
  if ok or state.exhausted then return unless_exhausted(ok, ...) end
  local e = ...
  local reply, message = error_text(e)
  return false, reply or message or e
end

local function copy_of(library)
  local copy = {}
  for name, value in pairs(library) do copy[name] = value end
  return copy
end

local function refuse_change() error("Attempt to modify a readonly table", 2) end

-- A library as a script sees it: an empty table that reads through to the
-- library and refuses every change, made anew for each run so that even a
-- rawset on it is forgotten; pairs and next see the table behind it, named
-- by its metatable's __behind. (Not a weak table from view to library: Lua
-- 5.1 never frees a weak key its value refers to, as a run's globals do.)
local read_through = {}

local function readonly(library)
  local meta = read_through[library]
  if not meta then
    meta = {__index = library, __newindex = refuse_change, __metatable = false, __behind = library}
    read_through[library] = meta
  end
  return setmetatable({}, meta)
end

local function behind(t)
  local meta = debug_getmetatable(t)
  return type(meta) == "table" and rawget(meta, "__behind") or t
end

local function sandbox_pairs(t) return pairs(behind(t)) end
local function sandbox_next(t, k) return next(behind(t), k) end

-- redis.error_reply's rules (Redis's luaPushErrorBuff): "-CODE message", or
-- "message" under the code ERR; line breaks trimmed from the ends.
local function error_table(text)
  if text:sub(1, 1) ~= "-" then text = "-" .. text end
  local space = text:find(" ", 1, true)
  local code, message = "ERR", text:sub(2)
  if space then code, message = text:sub(2, space - 1), text:sub(space + 1) end
  message = message:gsub("^[\r\n]+", ""):gsub("[\r\n]+$", "")
  return {err = code .. " " .. message}
end

local redis = {
  call = redis_call,  -- Python callables: a C function keeps the caller's line
  pcall = redis_pcall, -- in a tail call (return redis.call(...)), as Redis's do
  error_reply = function(text)
    if type(text) ~= "string" then return error_table("wrong number or type of arguments") end
    return error_table(text)
  end,
  status_reply = function(text)
    if type(text) ~= "string" then return error_table("wrong number or type of arguments") end
    return {ok = text}
  end,
  sha1hex = helpers.sha1hex,  -- Python callables too: sha1hex, log and setresp
  log = helpers.log,          -- raise errors, with the caller's line
  setresp = helpers.setresp,
  set_repl = function() end,  -- a script's effects are its own entry in the log
  replicate_commands = function() return true end,
  breakpoint = function() return false end,
  debug = function() end,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
  REDIS_VERSION = VERSION, REDIS_VERSION_NUM = VERSION_NUM,
}

-- An integer argument as Lua 5.1's luaL_checkint reads it (a number or a
-- numeric string, truncated toward zero).
local function integer_argument(value, position)
  local number = tonumber(value)
  if number == nil then
    local kind = value == nil and "no value" or type(value)
    error("bad argument #" .. position .. " to 'random' (number expected, got " .. kind .. ")", 3)
  end
  return number >= 0 and floor(number) or -floor(-number)
end

-- Lua 5.1's math.random, over a source seeded per run.
local function random(...)
  local count, m, n = select("#", ...), ...
  local r = random_python()
  if count == 0 then return r end
  m = integer_argument(m, 1)
  if count == 1 then
    if m < 1 then error("bad argument #1 to 'random' (interval is empty)", 2) end
    return floor(r * m) + 1
  end
  n = integer_argument(n, 2)
  if count > 2 then error("wrong number of arguments", 2) end
  if m > n then error("bad argument #2 to 'random' (interval is empty)", 2) end
  return floor(r * (n - m + 1)) + m
end

local BASE = {
  "assert", "error", "ipairs", "rawequal", "rawget", "rawset", "select", "setmetatable",
  "getmetatable", "tonumber", "unpack",
}

local run_names, run_count  -- per run: the names tostring gives to tables and functions
local registered  -- while a library loads: what it registers, in order and by name

-- The Python callables scripts are given (redis.call, cjson.encode, ...):
-- functions, as Redis's C functions are, for type and tostring.
local python_functions = setmetatable({}, {__mode = "k"})
for _, library in ipairs({{redis_call, redis_pcall}, helpers, libraries.cjson, libraries.bit,
                          libraries.cmsgpack, libraries.struct}) do
  for _, value in pairs(library) do
    if type(value) == "userdata" then python_functions[value] = true end
  end
end
python_functions[libraries.cjson.null] = nil

local function lua_type(value)
  if python_functions[value] then return "function" end
  return type(value)
end

-- A table, function, coroutine or userdata has no address here: it is
-- named by the order in which the run first printed it; a __tostring of
-- the script's own tables is honoured.
local function deterministic_tostring(...)
  if select("#", ...) == 0 then error("bad argument #1 to 'tostring' (value expected)", 2) end
  local value = ...
  local kind = lua_type(value)
  if kind == "table" or kind == "function" or kind == "thread" or kind == "userdata" then
    local meta = getmetatable(value)
    if kind ~= "table" or not (type(meta) == "table" and rawget(meta, "__tostring")) then
      local name = run_names[value]
      if not name then
        run_count = run_count + 1
        name = kind .. ": " .. run_count
        run_names[value] = name
      end
      return name
    end
  end
  return tostring(value)
end

-- string.find, match, gmatch and gsub: Lua's C matcher when the call's
-- worst case is small, else the metered one (lua_patterns.py). The worst
-- case grows as the subject's length to the power of the pattern's
-- repetitions (and backreferences, balances) plus one, over that power's
-- factorial (the tries nested repetitions make); a plain search as the
-- product of the two lengths.
local function costly(s, p, plain)
  if type(s) ~= "string" or type(p) ~= "string" then return false end
  if plain or not c_find(p, "[%^%$%*%+%?%.%(%[%%%-]") then return #s * #p > C_STEPS end
  local _, repeats = c_gsub(p, "[%*%+%-%?]", "")
  local _, references = c_gsub(p, "%%[b1-9]", "")
  local steps = (#s + 1) ^ (repeats + references + 1)
  for k = 2, repeats + references + 1 do steps = steps / k end
  return steps > C_STEPS
end

local sandbox_string = copy_of(string)

-- The C function's results. Called through pcall from here, its own
-- errors carry no position and name it '?': raised again at the script's
-- line and under its name, as Lua would have raised them had the script
-- called it directly. (An error of the script's own code, in a gsub
-- replacement function, already names the script: raised as it is.)
local function c_results(name, ok, ...)
  if ok then return ... end
  local e = ...
  if type(e) == "string" and e:sub(1, #chunk + 1) ~= chunk .. ":" then
    e = where() .. c_gsub(e, "to '%?'", "to '" .. name .. "'", 1)
  end
  error(e, 0)
end

-- A string function that calls the metered matcher or the C one; the
-- arguments are passed on as they came (Lua tells "no value" from nil).
local function matching(name, c_function, plain_at)
  local metered = patterns[name]
  return function(...)
    local s, p = ...
    if costly(s, p, plain_at and select(plain_at, ...)) then return metered(...) end
    return c_results(name, pcall(c_function, ...))
  end
end

sandbox_string.find = matching("find", c_find, 4)
sandbox_string.match = matching("match", c_match)
sandbox_string.gmatch = matching("gmatch", c_gmatch)
sandbox_string.gsub = matching("gsub", c_gsub)

-- A string's metatable is shared by every script: hidden, and its methods
-- (s:find(p)) are the sandbox's.
getmetatable("").__index = sandbox_string
getmetatable("").__metatable = false

-- table.sort runs in C, uncounted unless its comparator is Lua: it is
-- charged SORT_COST per element first (n log n comparisons, a few
-- microseconds each for a million elements).
local sandbox_table = copy_of(table)
local c_sort = table.sort

function sandbox_table.sort(...)
  local t = ...
  if type(t) == "table" then spend(SORT_COST * #t) end
  return c_results("sort", pcall(c_sort, ...))
end

local sandbox_math = copy_of(math)
sandbox_math.random, sandbox_math.randomseed = random, function() end

-- A new coroutine counts against the budget too: Lua 5.1 gives it the
-- count hook but not the Lua function behind it, so it is set again.
local function counted_coroutine(f)
  spend(COROUTINE_COST)
  local co = create(f)
  sethook(co, hook, "", STEP)
  return co
end

-- coroutine.wrap's results: an error raised in the coroutine is raised
-- again in the caller, a message with the caller's position (as Lua's).
local function wrapped_results(ok, ...)
  if ok then return ... end
  unless_exhausted()
  local e = ...
  if type(e) == "string" then e = where() .. e end
  error(e, 0)
end

local sandbox_coroutine = {
  create = counted_coroutine,
  wrap = function(f)
    local co = counted_coroutine(f)
    return function(...) return wrapped_results(resume(co, ...)) end
  end,
  resume = function(co, ...) return unless_exhausted(resume(co, ...)) end,
  running = coroutine.running, status = coroutine.status, yield = coroutine.yield,
}

local LIBRARIES = {
  string = sandbox_string, table = sandbox_table, math = sandbox_math,
  coroutine = sandbox_coroutine,
  redis = redis, cjson = libraries.cjson, bit = libraries.bit, cmsgpack = libraries.cmsgpack,
  struct = libraries.struct,
}

local FUNCTIONS = {
  pcall = function(f, ...) return plain_error(pcall(f, ...)) end,
  -- The handler is not called for a spent budget: the hook that raised it
  -- is off until the error reaches a pcall, so the handler would run unbounded.
  xpcall = function(f, handler)
    return unless_exhausted(xpcall(f, function(e)
      if state.exhausted then return e end
      return handler(e)
    end))
  end,
  tostring = deterministic_tostring,
  type = lua_type,
  collectgarbage = function() return 0 end,
  gcinfo = function() return 0 end,
  pairs = sandbox_pairs,
  next = sandbox_next,
}
for _, name in ipairs(BASE) do FUNCTIONS[name] = _G[name] end

-- A run's global table: read-only too, and reading a global that does not
-- exist is an error (Redis's globals protection).
-- An error value as text without calling the script's code (a
-- __tostring would run past the budget: the hook is off by now).
local function plain_tostring(e)
  local kind = type(e)
  if kind ~= "table" and kind ~= "function" and kind ~= "thread" and kind ~= "userdata" then
    return tostring(e)
  end
  local name = run_names[e]
  if not name then
    run_count = run_count + 1
    name = kind .. ": " .. run_count
  end
  return name
end

-- Lua 5.1 loads a chunk that starts with ESC as bytecode, which it does
-- not check: crafted bytecode reads and writes memory at will, which here
-- would crash every replica (Redis's CVE-2015-4335). As in Redis, such a
-- chunk is read as text - a space before it, the same name and lines - and
-- so fails as text does: "unexpected symbol near 'char(27)'".
local function load_text(...)
  local text, name = ...
  if type(text) == "string" and text:sub(1, 1) == "\27" then
    return loadstring(" " .. text, name or text)
  end
  return loadstring(...)
end

local function as_text(reader)
  local first = true
  return function()
    local piece = reader()
    if first then
      first = false
      if type(piece) == "string" and piece:sub(1, 1) == "\27" then return " " .. piece end
    end
    return piece
  end
end

-- A table that reads through to ``t``, refuses every change, and finds
-- reading a name ``t`` lacks an error (Redis's globals protection).
local function strict(t)
  return setmetatable({}, {
    __index = function(_, name)
      local value = t[name]
      if value == nil then
        local quoted = "'" .. tostring(name) .. "'"
        error("Script attempted to access nonexistent global variable " .. quoted, 2)
      end
      return value
    end,
    __newindex = refuse_change,
    __metatable = false,
    __behind = t,
  })
end

-- A run's global table; ``keys`` and ``argv`` are KEYS and ARGV (a
-- function's are its arguments instead: nil).
local function new_globals(keys, argv)
  local globals = {KEYS = keys, ARGV = argv, _VERSION = _VERSION}
  for name, value in pairs(FUNCTIONS) do globals[name] = value end
  for name, library in pairs(LIBRARIES) do globals[name] = readonly(library) end
  local g = strict(globals)
  globals._G = g
  globals.loadstring = function(...)
    local f, message = load_text(...)
    if f then setfenv(f, g) end
    return f, message
  end
  globals.load = function(reader, name)
    local f, message = load(as_text(reader), name)
    if f then setfenv(f, g) end
    return f, message
  end
  return g
end

local function compile(body, name)
  local fn, message = load_text(body, "@" .. name)
  return fn, message
end

-- A run begins: the budget, the RESP version, tostring's names, the chunk.
local function begin(name, limit, budget_message)
  state.used, state.budget, state.exhausted, state.resp = 0, limit, false, 2
  budget_error = {err = budget_message}
  run_names, run_count = setmetatable({}, {__mode = "k"}), 0
  chunk = name
end

local function finish(ok, result)
  sethook()
  run_names, registered = nil, nil
  return ok, result
end

-- An error as its reply's text: an error reply's own, else a message under ERR.
local function error_reply(e)
  local reply, message = error_text(e)
  return reply or ("ERR " .. (message or plain_tostring(e)))
end

-- A failed run's error reply, naming what ran (a script's SHA1, a function).
local function failure(label)
  return function(e)
    sethook()
    local line = chunk_line() or "?"
    return error_reply(e) .. " script: " .. label .. ", on @" .. chunk .. ":" .. line .. "."
  end
end

local function run(fn, sha, keys, argv, limit, budget_message)
  begin("user_script", limit, budget_message)
  setfenv(fn, new_globals(keys, argv))
  sethook(hook, "", STEP)
  return finish(xpcall(fn, failure(sha)))
end

-- Functions (Redis 7.0's function_lua.c). A library's code runs with only
-- ``redis`` to see, and in it only register_function, log and the
-- version; then its functions run with a script's globals but KEYS and
-- ARGV, their keys and arguments given as arguments instead. A library
-- is run again before each call: what its locals held is never kept, as
-- no replica could share it (an FCALL_RO runs on one node).
local FUNCTION_FLAGS = {"no-writes", "allow-oom", "allow-stale", "no-cluster",
                        "allow-cross-slot-keys"}

local function register_error(message) error({err = "ERR " .. message}, 0) end

local function is_text(value)
  local kind = type(value)
  return kind == "string" or kind == "number"
end

-- A function's flags, as the known names in Redis's order, or nil.
local function flags_of(t)
  local given = {}
  local i = 1
  while t[i] ~= nil do
    local flag = t[i]
    if not is_text(flag) then return nil end
    flag = tostring(flag):lower()
    local known = false
    for _, name in ipairs(FUNCTION_FLAGS) do known = known or name == flag end
    if not known then return nil end
    given[flag] = true
    i = i + 1
  end
  local flags = {}
  for _, name in ipairs(FUNCTION_FLAGS) do
    if given[name] then flags[#flags + 1] = name end
  end
  return flags
end

local function named_arguments(t)
  if type(t) ~= "table" then
    register_error("calling redis.register_function with a single argument is only " ..
                   "applicable to Lua table (representing named arguments).")
  end
  local name, callback, flags, description
  for key, value in next, t do
    if not is_text(key) then
      register_error("named argument key given to redis.register_function is not a string")
    end
    key = tostring(key):lower()
    if key == "function_name" or key == "description" then
      if not is_text(value) then
        register_error(key .. " argument given to redis.register_function must be a string")
      end
      if key == "function_name" then name = tostring(value) else description = tostring(value) end
    elseif key == "callback" then
      if lua_type(value) ~= "function" then
        register_error("callback argument given to redis.register_function must be a function")
      end
      callback = value
    elseif key == "flags" then
      if type(value) ~= "table" then
        register_error("flags argument to redis.register_function must be a table " ..
                       "representing function flags")
      end
      flags = flags_of(value)
      if not flags then register_error("unknown flag given") end
    else
      register_error("unknown argument given to redis.register_function")
    end
  end
  if not name then register_error("redis.register_function must get a function name argument") end
  if not callback then register_error("redis.register_function must get a callback argument") end
  return name, callback, flags or {}, description
end

local function register_function(...)
  if not registered then
    register_error("redis.register_function can only be called on FUNCTION LOAD command")
  end
  local count = select("#", ...)
  if count == 2 and registered.again then  -- FCALL: this registered as well at load
    local name, callback = ...
    registered.by_name[tostring(name)] = callback
    return
  end
  if count < 1 or count > 2 then
    register_error("wrong number of arguments to redis.register_function")
  end
  local name, callback, flags, description
  if count == 1 then
    name, callback, flags, description = named_arguments((...))
  else
    local first, second = ...
    if not is_text(first) then
      register_error("first argument to redis.register_function must be a string")
    end
    if lua_type(second) ~= "function" then
      register_error("second argument to redis.register_function must be a function")
    end
    name, callback, flags = tostring(first), second, {}
  end
  if not c_find(name, "^[%w_]+$") then  -- Redis 7.0 words it so for functions too
    register_error("Library names can only contain letters, numbers, or underscores(_) " ..
                   "and must be at least one character long")
  end
  if registered.by_name[name] then register_error("Function already exists in the library") end
  registered.by_name[name] = callback
  registered.list[#registered.list + 1] = {name = name, flags = flags, description = description}
end

local LOAD_GLOBALS = strict({redis = strict({
  register_function = register_function,
  log = helpers.log,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = VERSION, REDIS_VERSION_NUM = VERSION_NUM,
})})

-- A library's code runs: ``fn``'s globals are LOAD_GLOBALS until
-- ``loaded`` switches them to a run's (a metatable's __index, as Redis
-- switches them), so its functions see a script's globals when called.
local function load_phase(fn, again)
  local meta = {__index = LOAD_GLOBALS, __newindex = refuse_change, __metatable = false}
  setfenv(fn, setmetatable({}, meta))
  registered = {list = {}, by_name = {}, again = again}
  return registered, function() meta.__index = new_globals() end
end

-- FUNCTION LOAD: true and what the library registers, or false and the error.
local function load_library(fn, limit, budget_message)
  begin("user_function", limit, budget_message)
  local registry = load_phase(fn)
  sethook(hook, "", STEP)
  local ok, e = finish(pcall(fn))
  if ok then return true, registry.list end
  return false, error_reply(e)
end

-- FCALL: the library runs again, then its function ``name``. Its code
-- registers what it registered at load (it sees nothing else that could
-- change it): the checks are not made again.
local function call_function(fn, name, keys, argv, limit, budget_message)
  begin("user_function", limit, budget_message)
  local registry, loaded = load_phase(fn, true)
  sethook(hook, "", STEP)
  return finish(xpcall(function()
    fn()
    registered = nil
    loaded()
    return registry.by_name[name](keys, argv)
  end, failure(name)))
end

-- A RESP3 map or set as Redis hands it to a script, {map = t} or {set = t},
-- t filled one pair at a time in the reply's order, as Redis fills it: that
-- decides the order in which pairs visits it.
local function keyed(kind, flat, count)
  local t = {}
  for i = 1, count, 2 do t[flat[i]] = flat[i + 1] end
  return {[kind] = t}
end

return compile, run, load_library, call_function, state, keyed
"""
