// Compact stand-ins for the per-page buffers parquetjs keeps for each column while a page
// fills, for writers that fill its row buffer themselves (pairs-parquet.ts). parquetjs keeps a
// page's levels and distinct values as arrays and Sets of JS values, which live until the page
// (for distinct values, the row group) is written, surviving young-generation collections and
// copied by each. Each stand-in has only what parquetjs uses of the array or Set it replaces.
//
// - DistinctIds: the distinct values of an INT64 column that counts up by one (crawl.wat's sample
//   ids; statistics need min, max and the distinct count), as a range instead of a bigint and a
//   Set entry per row. A value that breaks the run moves it into a real Set, which answers from
//   then on: still correct, only no longer compact.
// - ZeroLevels: repetition levels of a flat column, and definition levels of a required one, are
//   all 0, and a v1 data page does not encode them (only their count is read): a count.

/** A Set of bigints kept as the range [first, last] while every value added extends it. */
export class DistinctIds {
  #first: bigint | undefined;
  #last: bigint | undefined;
  /** Set once a value broke the run; holds everything from then on. */
  #spilled: Set<unknown> | undefined;

  add(value: unknown): this {
    if (this.#spilled !== undefined) {
      this.#spilled.add(value);
      return this;
    }
    if (typeof value === "bigint") {
      if (this.#first === undefined || this.#last === undefined) {
        this.#first = this.#last = value;
        return this;
      }
      if (value === this.#last + 1n) {
        this.#last = value;
        return this;
      }
      if (value >= this.#first && value <= this.#last) return this; // already in the range
    }
    this.#spilled = new Set(this.#range());
    this.#spilled.add(value);
    this.#first = this.#last = undefined;
    return this;
  }

  has(value: unknown): boolean {
    if (this.#spilled !== undefined) return this.#spilled.has(value);
    return typeof value === "bigint" && this.#first !== undefined && this.#last !== undefined && value >= this.#first && value <= this.#last;
  }

  get size(): number {
    if (this.#spilled !== undefined) return this.#spilled.size;
    return this.#first === undefined || this.#last === undefined ? 0 : Number(this.#last - this.#first + 1n);
  }

  forEach(callback: (value: unknown, key: unknown, set: this) => void): void {
    for (const value of this) callback(value, value, this);
  }

  [Symbol.iterator](): IterableIterator<unknown> {
    return this.#spilled !== undefined ? this.#spilled.values() : this.#range();
  }

  values(): IterableIterator<unknown> {
    return this[Symbol.iterator]();
  }

  *#range(): IterableIterator<bigint> {
    if (this.#first === undefined || this.#last === undefined) return;
    for (let value = this.#first; value <= this.#last; value++) yield value;
  }
}

/**
 * Levels that are all 0, as a count: an array's push and length. A v1 data page reads only
 * the count of a column's levels when its maximum level is 0 (parquetjs' encodeDataPage).
 */
export class ZeroLevels {
  length = 0;

  /** Counts a level (parquetjs pushes one at a time); anything but 0 is refused. */
  push(level: number): number {
    if (level !== 0) throw new RangeError(`ZeroLevels: a level of ${level} where every level is 0`);
    return ++this.length;
  }
}
