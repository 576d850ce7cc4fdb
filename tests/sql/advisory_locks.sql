# Advisory locks: session-level ones outlive transactions and are counted; transaction-level
# ones end with the transaction; shared holds conflict only with exclusive ones; a waiter
# shows in isola_locks and resumes when the holder releases; lock_timeout ends a wait with
# 55P03; a cycle of advisory waits is a deadlock (40P01). (Timeouts are 5 s: an advisory
# wait runs on the blocking pool, which a loaded machine may start late; the runner must see
# the wait before it ends.)

t1: SELECT pg_advisory_lock(1)
> ()
t1: SELECT pg_advisory_lock(1)
> ()
t2: SELECT pg_try_advisory_lock(1)
> (f)
t2: SELECT pg_try_advisory_lock_shared(1)
> (f)
t1: SELECT pg_advisory_unlock(1)
> (t)
t2: SELECT pg_try_advisory_lock(1)
> (f)
t2: SELECT pg_advisory_lock(1)
> blocked
t3: SELECT row, mode, granted FROM isola_locks ORDER BY granted DESC
> (advisory(1), ExclusiveLock, t)
> (advisory(1), ExclusiveLock, f)
t1: SELECT pg_advisory_unlock(1)
> (t)
> t2 resumed: ()
t1: SELECT pg_advisory_unlock(1)
> (f)
t2: SELECT pg_advisory_unlock(1)
> (t)

# Shared holds coexist; an exclusive request waits for them, with lock_timeout.
t1: SELECT pg_advisory_lock_shared(2, 3)
> ()
t2: SELECT pg_advisory_lock_shared(2, 3)
> ()
t3: SET lock_timeout = 5000
> ok
t3: SELECT pg_advisory_lock(2, 3)
> blocked
await t3
> error 55P03 canceling statement due to lock timeout
t3: SELECT pg_advisory_unlock_all()
> ()
t1: SELECT pg_advisory_unlock_shared(2, 3), pg_advisory_unlock(2, 3)
> (t, f)
t2: SELECT pg_advisory_unlock_all()
> ()
t3: SELECT pg_try_advisory_lock(2, 3), pg_advisory_unlock(2, 3)
> (t, t)

# Transaction-level locks go at COMMIT or ROLLBACK; session-level ones stay.
t1: BEGIN
> ok
t1: SELECT pg_advisory_xact_lock(5)
> ()
t1: SELECT pg_advisory_lock(6)
> ()
t2: SELECT pg_try_advisory_xact_lock(5)
> (f)
t1: COMMIT
> ok
t2: SELECT pg_try_advisory_xact_lock(5)
> (t)
t2: SELECT pg_try_advisory_lock(6)
> (f)
t1: SELECT pg_advisory_unlock_all()
> ()

# A waiter resumes when the holder's transaction ends.
t1: BEGIN
> ok
t1: SELECT pg_advisory_xact_lock(10)
> ()
t2: SELECT pg_advisory_xact_lock(10)
> blocked
t1: ROLLBACK
> ok
> t2 resumed: ()

# Two sessions each waiting for the other's lock: a deadlock, the second waiter the victim.
t1: SELECT pg_advisory_lock(20)
> ()
t2: SELECT pg_advisory_lock(21)
> ()
t1: SELECT pg_advisory_lock(21)
> blocked
t2: SELECT pg_advisory_lock(20)
> error 40P01 deadlock detected
t2: SELECT pg_advisory_unlock_all()
> ()
> t1 resumed: ()
t1: SELECT pg_advisory_unlock_all()
> ()

# statement_timeout ends a wait too (57014); the session stays usable.
t1: SELECT pg_advisory_lock(30)
> ()
t2: SET statement_timeout = 5000
> ok
t2: SELECT pg_advisory_lock(30)
> blocked
await t2
> error 57014 canceling statement due to statement timeout
t2: SELECT pg_try_advisory_lock(30)
> (f)
t1: SELECT pg_advisory_unlock(30)
> (t)
t2: RESET statement_timeout
> ok

