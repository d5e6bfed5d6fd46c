/**
 * Deterministic column generators for the Faker source. Every value is a pure function of
 * (seed, stream, row id, field), so a batch can start at any id (incremental resume) and the
 * same seed always yields the same rows. Values are produced column by column from small
 * string pools: no per-row object and no JSON, so generation is never a pipeline's bottleneck.
 */
import type { ColumnarRecords } from '../../protocol/index.js'

const FIRST_NAMES = [
  'Aaron', 'Abigail', 'Adam', 'Akiko', 'Alan', 'Alba', 'Alice', 'Amir', 'Ana', 'Andre', 'Anna', 'Arjun',
  'Ben', 'Bianca', 'Bruno', 'Carla', 'Carlos', 'Chen', 'Chloe', 'Daniel', 'Dara', 'David', 'Diego', 'Elena',
  'Emma', 'Eric', 'Fatima', 'Felix', 'Grace', 'Hana', 'Hugo', 'Ines', 'Ivan', 'Jack', 'Jana', 'Jonas',
  'Julia', 'Kai', 'Kenji', 'Lara', 'Leo', 'Lina', 'Lucas', 'Maya', 'Mei', 'Mia', 'Nadia', 'Noah', 'Nora',
  'Omar', 'Oscar', 'Paula', 'Pedro', 'Priya', 'Rafael', 'Rosa', 'Sam', 'Sara', 'Sofia', 'Tariq', 'Theo',
  'Uma', 'Victor', 'Yuki', 'Zoe',
]
const LAST_NAMES = [
  'Abe', 'Adams', 'Alvarez', 'Bauer', 'Becker', 'Brown', 'Castro', 'Chen', 'Cohen', 'Costa', 'Davis', 'Diaz',
  'Dubois', 'Evans', 'Fischer', 'Garcia', 'Gomez', 'Gupta', 'Hall', 'Hansen', 'Ito', 'Jensen', 'Kim', 'Kowalski',
  'Lee', 'Lopez', 'Martin', 'Meyer', 'Miller', 'Moreau', 'Nakamura', 'Nguyen', 'Novak', 'Okafor', 'Olsen',
  'Patel', 'Perez', 'Rossi', 'Sato', 'Schmidt', 'Silva', 'Singh', 'Smith', 'Suzuki', 'Tanaka', 'Taylor',
  'Wagner', 'Walker', 'Wang', 'Weber', 'Wilson', 'Young', 'Zhang',
]
const TITLES = ['Mr.', 'Mrs.', 'Ms.', 'Miss', 'Dr.', 'Prof.', 'M.Sc.', 'PhD']
const GENDERS = ['Female', 'Male', 'Other', 'Fluid']
const LANGUAGES = ['English', 'Spanish', 'French', 'German', 'Japanese', 'Portuguese', 'Hindi', 'Arabic', 'Italian', 'Dutch', 'Korean', 'Swahili']
const DEGREES = ['Bachelor', 'Master', 'PhD', 'Associate', 'None']
const NATIONALITIES = ['American', 'Brazilian', 'Canadian', 'Chinese', 'Dutch', 'French', 'German', 'Indian', 'Italian', 'Japanese', 'Kenyan', 'Mexican', 'Nigerian', 'Polish', 'Spanish', 'Swedish']
const OCCUPATIONS = ['Accountant', 'Architect', 'Baker', 'Carpenter', 'Chemist', 'Designer', 'Doctor', 'Electrician', 'Engineer', 'Farmer', 'Journalist', 'Lawyer', 'Librarian', 'Mechanic', 'Nurse', 'Pilot', 'Plumber', 'Programmer', 'Teacher', 'Translator']
const BLOOD_TYPES = ['A+', 'A-', 'B+', 'B-', 'AB+', 'AB-', 'O+', 'O-']
const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net', 'mail.test', 'inbox.test']
const STREET_NAMES = ['Maple Street', 'Oak Avenue', 'Pine Road', 'Cedar Lane', 'Elm Street', 'Harbor Way', 'Hill Road', 'Lake Drive', 'Mill Lane', 'Park Avenue', 'River Road', 'Station Street']
const CITIES = ['Amsterdam', 'Austin', 'Berlin', 'Bogota', 'Cape Town', 'Chicago', 'Lagos', 'Lisbon', 'Lyon', 'Madrid', 'Mumbai', 'Nairobi', 'Osaka', 'Oslo', 'Seoul', 'Sydney', 'Toronto', 'Warsaw']
const STATES = ['California', 'Texas', 'Ontario', 'Bavaria', 'Kansai', 'Catalonia', 'Lombardy', 'Queensland', 'Gauteng', 'Maharashtra']
const COUNTRY_CODES = ['US', 'CA', 'DE', 'JP', 'ES', 'IT', 'AU', 'ZA', 'IN', 'BR', 'FR', 'NL', 'KE', 'NG', 'PL', 'SE']
const MAKES = ['Audi', 'BMW', 'Chevrolet', 'Fiat', 'Ford', 'Honda', 'Hyundai', 'Kia', 'Mazda', 'Nissan', 'Peugeot', 'Renault', 'Skoda', 'Subaru', 'Tesla', 'Toyota', 'Volkswagen', 'Volvo']
const MODELS = ['Alpha', 'Breeze', 'Comet', 'Delta', 'Echo', 'Falcon', 'Glide', 'Horizon', 'Ion', 'Jet', 'Kestrel', 'Lynx', 'Meteor', 'Nova', 'Orbit', 'Pulse', 'Quest', 'Rover', 'Spark', 'Titan']

/** Number of rows of the products stream (a fixed catalogue, as in Airbyte's Faker). */
export const PRODUCT_COUNT = 100

/** Epoch seconds from which `created_at` values are drawn (2010-01-01T00:00:00Z) and their span (12 years). */
const CREATED_BASE = 1262304000
const CREATED_SPAN = 12 * 365 * 86400
/**
 * With `always_updated: false`, row `id` has `updated_at` = UPDATED_BASE + id seconds
 * (2022-01-01T00:00:00Z + id s): strictly increasing with id, so resuming after a saved
 * `updated_at` is an O(1) seek to the next id.
 */
export const UPDATED_BASE = 1640995200

/** Murmur3's 32-bit finaliser over a mix of the inputs: a fast, well-spread hash. */
export function mix(seed: number, stream: number, id: number, field: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(stream + 1, 0xc2b2ae35)
  h = Math.imul(h ^ id, 0x27d4eb2f) ^ Math.imul(field + 0x165667b1, 0x9e3779b1)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

const FIRST_NAMES_LOWER = FIRST_NAMES.map((n) => n.toLowerCase())
const LAST_NAMES_LOWER = LAST_NAMES.map((n) => n.toLowerCase())

function pick<T>(pool: readonly T[], h: number): T {
  return pool[h % pool.length] as T
}

const PAD2: string[] = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'))
const dayCache = new Map<number, string>()

/** `YYYY-MM-DDTHH:MM:SS+00:00` for epoch seconds, with the date part cached per day. */
export function isoSeconds(epochSeconds: number): string {
  const day = Math.floor(epochSeconds / 86400)
  let date = dayCache.get(day)
  if (date === undefined) {
    date = new Date(day * 86400000).toISOString().slice(0, 10)
    if (dayCache.size > 20000) dayCache.clear()
    dayCache.set(day, date)
  }
  const s = epochSeconds - day * 86400
  const hh = Math.floor(s / 3600)
  const mm = Math.floor((s % 3600) / 60)
  return `${date}T${PAD2[hh]}:${PAD2[mm]}:${PAD2[s % 60]}+00:00`
}

/** Parses the timestamps this source writes (any ISO-8601 string Date understands) to epoch seconds. */
export function parseIsoSeconds(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000)
}

/** Length of a non-negative integer or finite number written as JSON, without building the string for integers. */
function numLen(n: number): number {
  if (Number.isInteger(n) && n >= 0) {
    if (n < 10) return 1
    if (n < 100) return 2
    if (n < 1000) return 3
    if (n < 10000) return 4
    if (n < 100000) return 5
    if (n < 1000000) return 6
    return String(n).length
  }
  return String(n).length
}

export const FAKER_STREAMS = ['users', 'products', 'purchases'] as const
export type FakerStreamName = (typeof FAKER_STREAMS)[number]

export interface GenerateOptions {
  seed: number
  /** Rows of users and purchases (products are a fixed catalogue). */
  count: number
  /** When set, every row's `updated_at` is this value (the sync's start, as Airbyte's `always_updated`). */
  updatedAtOverride?: string
}

/** One generated batch: the columns plus the exact byte size of the rows as JSON objects. */
export interface GeneratedColumns extends ColumnarRecords {
  bytes: number
}

/** JSON size of `"key":` for each field plus braces and commas, per row. */
function keyOverhead(names: readonly string[]): number {
  let n = 2 + (names.length - 1)
  for (const k of names) n += k.length + 3
  return n
}

const USER_FIELDS = [
  'id', 'created_at', 'updated_at', 'name', 'title', 'age', 'email', 'telephone', 'gender', 'language',
  'academic_degree', 'nationality', 'occupation', 'height', 'blood_type', 'weight', 'address',
]
const ADDRESS_FIELDS = ['street_number', 'street_name', 'city', 'state', 'province', 'postal_code', 'country_code']
const PRODUCT_FIELDS = ['id', 'make', 'model', 'year', 'price', 'created_at', 'updated_at']
const PURCHASE_FIELDS = ['id', 'user_id', 'product_id', 'created_at', 'updated_at', 'added_to_cart_at', 'purchased_at', 'returned_at']

const STREAM_SALT: Record<FakerStreamName, number> = { users: 1, products: 2, purchases: 3 }

/** Field names of a stream, in column order. */
export function fieldNames(stream: FakerStreamName): string[] {
  switch (stream) {
    case 'users':
      return [...USER_FIELDS]
    case 'products':
      return [...PRODUCT_FIELDS]
    case 'purchases':
      return [...PURCHASE_FIELDS]
  }
}

/** Rows in a stream for a given count. */
export function streamSize(stream: FakerStreamName, count: number): number {
  return stream === 'products' ? PRODUCT_COUNT : count
}

/** `updated_at` of row `id` as epoch seconds when not overridden. */
export function updatedAtSeconds(id: number): number {
  return UPDATED_BASE + id
}

/** Generates rows `firstId .. firstId + n - 1` of a stream, column by column. */
export function generateColumns(stream: FakerStreamName, firstId: number, n: number, opts: GenerateOptions): GeneratedColumns {
  switch (stream) {
    case 'users':
      return generateUsers(firstId, n, opts)
    case 'products':
      return generateProducts(firstId, n, opts)
    case 'purchases':
      return generatePurchases(firstId, n, opts)
  }
}

function updatedAtColumn(firstId: number, n: number, opts: GenerateOptions): { values: string[]; bytes: number } {
  const values = new Array<string>(n)
  let bytes = 0
  for (let r = 0; r < n; r++) {
    const v = opts.updatedAtOverride ?? isoSeconds(updatedAtSeconds(firstId + r))
    values[r] = v
    bytes += v.length + 2
  }
  return { values, bytes }
}

function generateUsers(firstId: number, n: number, opts: GenerateOptions): GeneratedColumns {
  const { seed } = opts
  const salt = STREAM_SALT.users
  const id = new Array<number>(n)
  const createdAt = new Array<string>(n)
  const name = new Array<string>(n)
  const title = new Array<string>(n)
  const age = new Array<number>(n)
  const email = new Array<string>(n)
  const telephone = new Array<string>(n)
  const gender = new Array<string>(n)
  const language = new Array<string>(n)
  const degree = new Array<string>(n)
  const nationality = new Array<string>(n)
  const occupation = new Array<string>(n)
  const height = new Array<string>(n)
  const bloodType = new Array<string>(n)
  const weight = new Array<number>(n)
  const address = new Array<Record<string, unknown>>(n)
  const updated = updatedAtColumn(firstId, n, opts)
  const addressOverhead = keyOverhead(ADDRESS_FIELDS)
  let bytes = n * keyOverhead(USER_FIELDS) + updated.bytes
  for (let r = 0; r < n; r++) {
    const i = firstId + r
    const h0 = mix(seed, salt, i, 0)
    const h1 = mix(seed, salt, i, 1)
    const h2 = mix(seed, salt, i, 2)
    const h3 = mix(seed, salt, i, 3)
    id[r] = i
    const created = isoSeconds(CREATED_BASE + (h0 % CREATED_SPAN))
    createdAt[r] = created
    const firstIndex = h1 % FIRST_NAMES.length
    const lastIndex = (h1 >>> 8) % LAST_NAMES.length
    const fullName = `${FIRST_NAMES[firstIndex]} ${LAST_NAMES[lastIndex]}`
    name[r] = fullName
    const t = pick(TITLES, h1 >>> 16)
    title[r] = t
    const a = 18 + (h1 >>> 20) % 70
    age[r] = a
    const domain = pick(EMAIL_DOMAINS, h2)
    const mail = `${FIRST_NAMES_LOWER[firstIndex]}.${LAST_NAMES_LOWER[lastIndex]}${i}@${domain}`
    email[r] = mail
    const tel = `+1-${200 + (h2 >>> 4) % 800}-${100 + (h2 >>> 14) % 900}-${1000 + (h3 % 9000)}`
    telephone[r] = tel
    const g = pick(GENDERS, h3 >>> 14)
    gender[r] = g
    const lang = pick(LANGUAGES, h3 >>> 16)
    language[r] = lang
    const deg = pick(DEGREES, h3 >>> 20)
    degree[r] = deg
    const nat = pick(NATIONALITIES, h3 >>> 23)
    nationality[r] = nat
    const occ = pick(OCCUPATIONS, h0 >>> 3)
    occupation[r] = occ
    const hgt = `1.${PAD2[45 + (h0 >>> 9) % 15]}`
    height[r] = hgt
    const bt = pick(BLOOD_TYPES, h0 >>> 13)
    bloodType[r] = bt
    const w = 45 + (h0 >>> 17) % 75
    weight[r] = w
    const h4 = mix(seed, salt, i, 4)
    const streetNumber = String(1 + (h4 % 999))
    const streetName = pick(STREET_NAMES, h4 >>> 10)
    const city = pick(CITIES, h4 >>> 14)
    const state = pick(STATES, h4 >>> 19)
    const postal = String(10000 + (h4 >>> 3) % 89999)
    const country = pick(COUNTRY_CODES, h4 >>> 24)
    address[r] = {
      street_number: streetNumber,
      street_name: streetName,
      city,
      state,
      province: state,
      postal_code: postal,
      country_code: country,
    }
    bytes +=
      numLen(i) + created.length + fullName.length + t.length + numLen(a) + mail.length + tel.length + g.length +
      lang.length + deg.length + nat.length + occ.length + hgt.length + bt.length + numLen(w) +
      // 12 string fields, 2 quotes each
      24 +
      addressOverhead + streetNumber.length + streetName.length + city.length + 2 * state.length + postal.length +
      country.length + 14
  }
  return {
    names: [...USER_FIELDS],
    columns: [id, createdAt, updated.values, name, title, age, email, telephone, gender, language, degree, nationality, occupation, height, bloodType, weight, address],
    bytes,
  }
}

function generateProducts(firstId: number, n: number, opts: GenerateOptions): GeneratedColumns {
  const { seed } = opts
  const salt = STREAM_SALT.products
  const id = new Array<number>(n)
  const make = new Array<string>(n)
  const model = new Array<string>(n)
  const year = new Array<number>(n)
  const price = new Array<number>(n)
  const createdAt = new Array<string>(n)
  const updated = updatedAtColumn(firstId, n, opts)
  let bytes = n * keyOverhead(PRODUCT_FIELDS) + updated.bytes
  for (let r = 0; r < n; r++) {
    const i = firstId + r
    const h0 = mix(seed, salt, i, 0)
    const h1 = mix(seed, salt, i, 1)
    id[r] = i
    const mk = pick(MAKES, h0)
    const md = pick(MODELS, h0 >>> 8)
    const y = 1990 + (h0 >>> 16) % 35
    const p = 5000 + (h1 % 9500000) / 100
    const created = isoSeconds(CREATED_BASE + (h1 >>> 3) % CREATED_SPAN)
    make[r] = mk
    model[r] = md
    year[r] = y
    price[r] = p
    createdAt[r] = created
    bytes += numLen(i) + mk.length + md.length + 4 + numLen(p) + created.length + 6
  }
  return { names: [...PRODUCT_FIELDS], columns: [id, make, model, year, price, createdAt, updated.values], bytes }
}

function generatePurchases(firstId: number, n: number, opts: GenerateOptions): GeneratedColumns {
  const { seed, count } = opts
  const salt = STREAM_SALT.purchases
  const id = new Array<number>(n)
  const userId = new Array<number>(n)
  const productId = new Array<number>(n)
  const createdAt = new Array<string>(n)
  const addedToCart = new Array<string>(n)
  const purchasedAt = new Array<string | null>(n)
  const returnedAt = new Array<string | null>(n)
  const updated = updatedAtColumn(firstId, n, opts)
  let bytes = n * keyOverhead(PURCHASE_FIELDS) + updated.bytes
  for (let r = 0; r < n; r++) {
    const i = firstId + r
    const h0 = mix(seed, salt, i, 0)
    const h1 = mix(seed, salt, i, 1)
    id[r] = i
    const u = 1 + (h0 % Math.max(1, count))
    const p = 1 + ((h0 >>> 12) % PRODUCT_COUNT)
    const createdSec = CREATED_BASE + (h1 % CREATED_SPAN)
    const created = isoSeconds(createdSec)
    const cart = isoSeconds(createdSec + (h1 >>> 5) % 86400)
    // About 1 in 8 carts is never bought and 1 in 16 purchases is returned: nullable columns get nulls.
    const bought = (h0 >>> 24) % 8 !== 0
    const purchased = bought ? isoSeconds(createdSec + 86400 + ((h1 >>> 7) % 86400)) : null
    const returned = bought && (h0 >>> 28) === 0 ? isoSeconds(createdSec + 7 * 86400) : null
    userId[r] = u
    productId[r] = p
    createdAt[r] = created
    addedToCart[r] = cart
    purchasedAt[r] = purchased
    returnedAt[r] = returned
    bytes +=
      numLen(i) + numLen(u) + numLen(p) + created.length + cart.length + 4 +
      (purchased === null ? 4 : purchased.length + 2) + (returned === null ? 4 : returned.length + 2)
  }
  return {
    names: [...PURCHASE_FIELDS],
    columns: [id, userId, productId, createdAt, updated.values, addedToCart, purchasedAt, returnedAt],
    bytes,
  }
}
