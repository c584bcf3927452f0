package server

import (
	"container/list"
	"sync"
)

// byteLRU caches decrypted indexes by object key, bounded in total bytes.
// Index objects are immutable (a new ingest writes a new key), so entries
// never go stale.
type byteLRU struct {
	mu    sync.Mutex
	max   int
	size  int
	order *list.List // front = most recent; values are *lruEntry
	items map[string]*list.Element
}

type lruEntry struct {
	key string
	val []byte
}

func newByteLRU(max int) *byteLRU {
	return &byteLRU{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (c *byteLRU) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruEntry).val, true
	}
	return nil, false
}

func (c *byteLRU) put(key string, val []byte) {
	if len(val) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.size -= len(e.Value.(*lruEntry).val)
		c.order.Remove(e)
	}
	c.items[key] = c.order.PushFront(&lruEntry{key, val})
	c.size += len(val)
	for c.size > c.max {
		last := c.order.Back()
		ent := last.Value.(*lruEntry)
		c.order.Remove(last)
		delete(c.items, ent.key)
		c.size -= len(ent.val)
	}
}
